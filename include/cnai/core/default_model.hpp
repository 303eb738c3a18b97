// Where cnai keeps downloaded models, and the default chat and embedding models
// there (SmolLM2-135M-Instruct Q4_1 and all-MiniLM-L6-v2 Q8_0, fetched by the
// set-up), so a host need not rebuild the paths. The library reads no
// environment: the host passes its lookup (core/env.hpp).
#pragma once

#include <string>
#include <string_view>

#include "cnai/core/env.hpp"

namespace cnai {

/// File name of the default model.
inline constexpr std::string_view kDefaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// File name of the default embedding model (all-MiniLM-L6-v2, fetched and
/// converted by scripts/fetch_embedding_model.sh).
inline constexpr std::string_view kDefaultEmbeddingModelFile = "all-MiniLM-L6-v2.Q8_0.gguf";

/// The cache directory the set-up scripts fill, by the lookup the host passes
/// (normally over its process environment): CNAI_CACHE_DIR when set and not
/// empty, else HOME + "/.cache/cnai" (the platform convention), else
/// "./.cache/cnai". An empty lookup finds nothing set.
std::string default_cache_dir(const EnvLookup& env);

/// cache_dir + "/models/" + kDefaultModelFile. It may not exist yet.
std::string default_model_path(std::string_view cache_dir);

/// cache_dir + "/models/" + kDefaultEmbeddingModelFile. It may not exist yet.
std::string default_embedding_model_path(std::string_view cache_dir);

}  // namespace cnai
