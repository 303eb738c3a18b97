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

}  // namespace cnai::testing
