// Python string formatting for templates: `"%s" % x` / `|format` (printf
// style: %s %r %d %i %f %e %g %x %o %c %% with flags, width, precision and
// %(name)s keys) and str.format ("{}", "{0}", "{name}", no format specs).
#pragma once

#include <string>

#include "text/jinja/value.hpp"

namespace cnai::text::jinja {

/// `fmt % args`: a tuple spreads over the conversions, a dict feeds %(key)s, anything else is one value.
std::string percent_format(const std::string& fmt, const Value& args);
/// str.format with positional and keyword arguments.
std::string brace_format(const std::string& fmt, const List& positional,
                         const std::vector<std::pair<std::string, Value>>& named);

}  // namespace cnai::text::jinja
