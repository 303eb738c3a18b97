// JSON text <-> template values (Boost.JSON stays inside src/).
#pragma once

#include <string_view>

#include "text/jinja/value.hpp"

namespace cnai::text::jinja {

/// Parses JSON text into a template value (objects keep key order).
/// Throws Error(invalid_argument) naming `what` when the text is not JSON.
Value parse_json_value(std::string_view text, std::string_view what);

}  // namespace cnai::text::jinja
