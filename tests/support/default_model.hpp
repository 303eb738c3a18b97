// Locating the default model for tests that need it.
// Missing model: the test is skipped with a message, or fails if CNAI_REQUIRE_MODEL=1.
#pragma once

#include <optional>
#include <string>

namespace cnai::testing {

/// $CNAI_MODEL, else $HOME/.cache/cnai/models/SmolLM2-135M-Instruct.Q4_1.gguf.
std::string default_model_path();

/// The default model's path if it exists. Otherwise std::nullopt after a doctest
/// MESSAGE (skip), or a FAIL when CNAI_REQUIRE_MODEL=1.
std::optional<std::string> default_model_or_skip();

/// The set-up's embedding model (scripts/fetch_embedding_model.sh) in weight type
/// `type` (F32, F16, Q8_0): $HOME/.cache/cnai/models/all-MiniLM-L6-v2.<type>.gguf
/// ($CNAI_CACHE_DIR instead of $HOME/.cache/cnai when set).
std::string embedding_model_path(const std::string& type = "Q8_0");

/// As default_model_or_skip, for embedding_model_path(type).
std::optional<std::string> embedding_model_or_skip(const std::string& type = "Q8_0");

}  // namespace cnai::testing
