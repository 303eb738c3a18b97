// The global functions Hugging Face gives chat templates: range, namespace,
// dict, raise_exception and strftime_now.
#pragma once

#include "text/jinja/interpreter.hpp"

namespace cnai::text::jinja {

/// Adds the builtin globals to `frame`. strftime_now formats the current local
/// time, or the fixed time in env CNAI_TEMPLATE_NOW ("YYYY-MM-DD HH:MM:SS")
/// so tests can compare output that contains a date.
void add_builtin_globals(Frame& frame);

}  // namespace cnai::text::jinja
