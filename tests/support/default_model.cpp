#include "default_model.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

namespace cnai::testing {

std::string default_model_path() {
  if (const char* p = std::getenv("CNAI_MODEL"); p && *p) return p;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.cache/cnai/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

namespace {

std::optional<std::string> existing_or_skip(const std::string& path, const char* fetch_script) {
  if (std::filesystem::is_regular_file(path)) return path;
  const char* req = std::getenv("CNAI_REQUIRE_MODEL");
  if (req && std::string(req) == "1") {
    FAIL("model missing at " << path << " and CNAI_REQUIRE_MODEL=1 (run scripts/" << fetch_script << ")");
  } else {
    MESSAGE("SKIPPED: model missing at " << path << " (run scripts/" << fetch_script << ")");
  }
  return std::nullopt;
}

}  // namespace

std::string embedding_model_path(const std::string& type) {
  std::string cache;
  if (const char* c = std::getenv("CNAI_CACHE_DIR"); c && *c) {
    cache = c;
  } else {
    const char* home = std::getenv("HOME");
    cache = std::string(home ? home : "") + "/.cache/cnai";
  }
  return cache + "/models/all-MiniLM-L6-v2." + type + ".gguf";
}

std::optional<std::string> embedding_model_or_skip(const std::string& type) {
  return existing_or_skip(embedding_model_path(type), "fetch_embedding_model.sh");
}

std::optional<std::string> default_model_or_skip() {
  const std::string path = default_model_path();
  if (std::filesystem::is_regular_file(path)) return path;
  const char* req = std::getenv("CNAI_REQUIRE_MODEL");
  if (req && std::string(req) == "1") {
    FAIL("default model missing at " << path << " and CNAI_REQUIRE_MODEL=1 (run scripts/fetch_model.sh)");
  } else {
    MESSAGE("SKIPPED: default model missing at " << path << " (run scripts/fetch_model.sh)");
  }
  return std::nullopt;
}

}  // namespace cnai::testing
