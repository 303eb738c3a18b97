// Where the tokenizer tests find the shared llama.cpp vocab files:
// $CNAI_SHARED_DATA_DIR/tokenizer, else the path CMake baked in (see
// support/default_model.hpp for what a test does when they are missing).
#pragma once

#include <filesystem>

#include "support/default_model.hpp"

inline std::filesystem::path tokenizer_data_dir() { return cnai::testing::shared_data_dir() / "tokenizer"; }
