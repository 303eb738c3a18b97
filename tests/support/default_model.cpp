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
