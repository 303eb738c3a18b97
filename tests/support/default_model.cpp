#include "default_model.hpp"

#include <doctest/doctest.h>

#include <cstdlib>

#include "cnai/core/default_model.hpp"

namespace cnai::testing {

bool inputs_required() {
  const char* req = std::getenv("CNAI_REQUIRE_MODEL");
  return req && std::string(req) == "1";
}

void missing_input(const std::string& what, const std::string& how) {
  if (inputs_required()) {
    FAIL(what << " is missing and CNAI_REQUIRE_MODEL=1 (" << how << ")");
  } else {
    MESSAGE("SKIPPED: " << what << " is missing (" << how << ")");
  }
}

std::optional<std::string> process_environment(const std::string& var) {
  const char* v = std::getenv(var.c_str());
  return v ? std::optional<std::string>(v) : std::nullopt;
}

cnai::EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& var) -> std::optional<std::string> {
    auto it = vars.find(var);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

std::string cache_dir() { return cnai::default_cache_dir(process_environment); }

std::string default_model_path() {
  if (const char* p = std::getenv("CNAI_MODEL"); p && *p) return p;
  return cnai::default_model_path(cache_dir());
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
  return cache_dir() + "/models/all-MiniLM-L6-v2." + type + ".gguf";
}

std::optional<std::string> embedding_model_or_skip(const std::string& type) {
  return existing_or_skip(embedding_model_path(type), "fetch_embedding_model.sh");
}

std::optional<std::string> default_model_or_skip() {
  const std::string path = default_model_path();
  if (std::filesystem::is_regular_file(path)) return path;
  missing_input("the default model " + path, "run scripts/fetch_model.sh, or set CNAI_MODEL");
  return std::nullopt;
}

std::optional<std::string> gemma_model_or_skip() {
  const std::string path = (std::filesystem::path(default_model_path()).parent_path() / "gemma-3-270m-q4_k_m.gguf").string();
  if (std::filesystem::is_regular_file(path)) return path;
  missing_input("the Gemma 3 270M model " + path, "run scripts/fetch_gemma.sh");
  return std::nullopt;
}

std::filesystem::path shared_data_dir() {
  if (const char* env = std::getenv("CNAI_SHARED_DATA_DIR"); env && *env) return env;
  return CNAI_SHARED_DATA_DIR;
}

std::optional<std::filesystem::path> shared_data_or_skip(const std::string& relative) {
  const auto path = shared_data_dir() / relative;
  if (std::filesystem::exists(path)) return path;
  missing_input("shared test data " + path.string(), "set CNAI_SHARED_DATA_DIR to the shared data folder");
  return std::nullopt;
}

}  // namespace cnai::testing
