#include "cnai/core/default_model.hpp"

namespace cnai {

std::string default_cache_dir(const EnvLookup& env) {
  auto value = [&](const char* name) -> std::string {
    if (!env) return {};
    return env(name).value_or(std::string());
  };
  if (std::string dir = value("CNAI_CACHE_DIR"); !dir.empty()) return dir;
  const std::string home = value("HOME");
  return (home.empty() ? std::string(".") : home) + "/.cache/cnai";
}

std::string default_model_path(std::string_view cache_dir) {
  return std::string(cache_dir) + "/models/" + std::string(kDefaultModelFile);
}

std::string default_embedding_model_path(std::string_view cache_dir) {
  return std::string(cache_dir) + "/models/" + std::string(kDefaultEmbeddingModelFile);
}

}  // namespace cnai
