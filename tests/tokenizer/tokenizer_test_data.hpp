// Where the tokenizer tests find the shared llama.cpp vocab files:
// $CNAI_SHARED_DATA_DIR, else the path CMake baked in.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

inline std::filesystem::path tokenizer_data_dir() {
  if (const char* env = std::getenv("CNAI_SHARED_DATA_DIR"); env != nullptr && *env != '\0') {
    return std::filesystem::path(env) / "tokenizer";
  }
  return std::filesystem::path(CNAI_SHARED_DATA_DIR) / "tokenizer";
}
