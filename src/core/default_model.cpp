#include "cnai/core/default_model.hpp"

#include <cstdlib>

namespace cnai {

std::string default_cache_dir() {
  if (const char* dir = std::getenv("CNAI_CACHE_DIR"); dir && *dir) return dir;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.cache/cnai";
}

std::string default_model_path() { return default_cache_dir() + "/models/" + std::string(kDefaultModelFile); }

std::string default_embedding_model_path() {
  return default_cache_dir() + "/models/" + std::string(kDefaultEmbeddingModelFile);
}

}  // namespace cnai
