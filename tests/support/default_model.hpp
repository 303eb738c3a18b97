// The one place that decides what a test does when an input it needs is
// missing (the default model, a file of ../shared/data): with
// CNAI_REQUIRE_MODEL=1 (CI) it fails; elsewhere it is skipped with a message
// naming what is missing and how to get it. No test passes by not running.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "cnai/core/env.hpp"

namespace cnai::testing {

/// True when missing inputs are failures (CNAI_REQUIRE_MODEL=1).
bool inputs_required();

/// Reports a missing input: a doctest FAIL when inputs_required(), else a
/// "SKIPPED: <what> (<how>)" message. The caller then returns.
void missing_input(const std::string& what, const std::string& how);

/// This process's environment as a cnai::EnvLookup (the library reads none).
std::optional<std::string> process_environment(const std::string& var);

/// A cnai::EnvLookup over `vars` alone: what a test passes for an environment of its own.
cnai::EnvLookup env_of(std::map<std::string, std::string> vars);

/// cnai::default_cache_dir over process_environment.
std::string cache_dir();

/// $CNAI_MODEL, else the library's default model path in cache_dir().
std::string default_model_path();

/// The default model's path if it exists; otherwise missing_input() and nullopt.
std::optional<std::string> default_model_or_skip();

/// The second real model, Gemma 3 270M Q4_K_M (scripts/fetch_gemma.sh), beside the
/// default model; otherwise missing_input() and nullopt.
std::optional<std::string> gemma_model_or_skip();

/// The set-up's embedding model (scripts/fetch_embedding_model.sh) in weight type
/// `type` (F32, F16, Q8_0): $HOME/.cache/cnai/models/all-MiniLM-L6-v2.<type>.gguf
/// ($CNAI_CACHE_DIR instead of $HOME/.cache/cnai when set).
std::string embedding_model_path(const std::string& type = "Q8_0");

/// As default_model_or_skip, for embedding_model_path(type).
std::optional<std::string> embedding_model_or_skip(const std::string& type = "Q8_0");
/// $CNAI_SHARED_DATA_DIR, else ../shared/data next to the checkout (CMake's default).
std::filesystem::path shared_data_dir();

/// shared_data_dir() / relative if it exists; otherwise missing_input() and nullopt.
std::optional<std::filesystem::path> shared_data_or_skip(const std::string& relative);

}  // namespace cnai::testing
