// Where cnai keeps downloaded models, and the default model's file there
// (SmolLM2-135M-Instruct, Q4_1, fetched by scripts/fetch_model.sh), so a host
// need not rebuild the path from HOME: LocalEngine::load(default_model_path()).
#pragma once

#include <string>
#include <string_view>

namespace cnai {

/// File name of the default model.
inline constexpr std::string_view kDefaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// $CNAI_CACHE_DIR, else $HOME/.cache/cnai (the platform convention; like the
/// clients' from_env(), this reads the environment).
std::string default_cache_dir();

/// default_cache_dir() + "/models/" + kDefaultModelFile. It may not exist yet.
std::string default_model_path();

}  // namespace cnai
