// Jinja parser: tokens -> statement/expression tree, following jinja2's
// grammar (operator precedence, filters/tests binding tighter than unary minus).
#pragma once

#include <memory>
#include <string_view>

#include "text/jinja/ast.hpp"

namespace cnai::text::jinja {

/// Throws Error(model_format) "chat template syntax error at L:C: ..." naming what was expected.
std::shared_ptr<const Template> parse_template(std::string_view source);

}  // namespace cnai::text::jinja
