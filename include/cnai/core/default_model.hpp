// Where cnai keeps downloaded models, and the default chat and embedding models
// there (SmolLM2-135M-Instruct Q4_1 and all-MiniLM-L6-v2 Q8_0, fetched by the
// set-up), so a host need not rebuild the path from HOME.
#pragma once

#include <string>
#include <string_view>

namespace cnai {

/// File name of the default model.
inline constexpr std::string_view kDefaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// File name of the default embedding model (all-MiniLM-L6-v2, fetched and
/// converted by scripts/fetch_embedding_model.sh).
inline constexpr std::string_view kDefaultEmbeddingModelFile = "all-MiniLM-L6-v2.Q8_0.gguf";

/// $CNAI_CACHE_DIR, else $HOME/.cache/cnai (the platform convention; like the
/// clients' from_env(), this reads the environment).
std::string default_cache_dir();

/// default_cache_dir() + "/models/" + kDefaultModelFile. It may not exist yet.
std::string default_model_path();

/// default_cache_dir() + "/models/" + kDefaultEmbeddingModelFile. It may not exist yet.
std::string default_embedding_model_path();

}  // namespace cnai
