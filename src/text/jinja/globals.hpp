// The global functions Hugging Face gives chat templates: range, namespace,
// dict, raise_exception and strftime_now.
#pragma once

#include <chrono>
#include <optional>

#include "text/jinja/interpreter.hpp"

namespace cnai::text::jinja {

/// Adds the builtin globals to `frame`. strftime_now formats `now` in the local
/// time zone (the clock when unset; a fixed time makes output reproducible).
void add_builtin_globals(Frame& frame, std::optional<std::chrono::system_clock::time_point> now = std::nullopt);

}  // namespace cnai::text::jinja
