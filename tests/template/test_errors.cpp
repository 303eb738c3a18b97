// Failures are clear errors: syntax errors name line:column and what was
// expected (model_format); runtime errors, raise_exception and the limits
// that stop hostile templates are invalid_argument.
#include <doctest/doctest.h>

#include <string>

#include "cnai/core/error.hpp"
#include "cnai/text/chat_template.hpp"
#include "text/jinja/globals.hpp"
#include "text/jinja/interpreter.hpp"
#include "text/jinja/parser.hpp"

namespace {

// Renders and returns the error; fails the test when nothing is thrown.
cnai::Error render_error(const std::string& source, const std::string& context = "{}") {
  try {
    const auto t = cnai::ChatTemplate::parse(source);
    const std::string out = t.render_json(context);
    FAIL("expected an error, rendered: " << out.substr(0, 200));
  } catch (const cnai::Error& e) {
    return e;
  }
  return cnai::Error(cnai::ErrorCode::internal, "unreachable");
}

bool contains(const cnai::Error& e, const std::string& needle) {
  return std::string(e.what()).find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("raise_exception gives invalid_argument carrying the template's message") {
  const auto e = render_error("{% if messages|length == 0 %}{{ raise_exception('Conversation roles must alternate') }}{% endif %}",
                              R"({"messages": []})");
  CHECK(e.code() == cnai::ErrorCode::invalid_argument);
  CHECK(contains(e, "Conversation roles must alternate"));
}

TEST_CASE("runtime errors name line:column and the problem") {
  auto e = render_error("line1\n  {{ nope.attr }}");
  CHECK(e.code() == cnai::ErrorCode::invalid_argument);
  CHECK(contains(e, "at 2:"));
  CHECK(contains(e, "'nope' is undefined"));

  e = render_error("{{ 'x'|frobnicate }}");
  CHECK(e.code() == cnai::ErrorCode::invalid_argument);
  CHECK(contains(e, "1:"));
  CHECK(contains(e, "no filter named 'frobnicate'"));

  e = render_error("{{ 1 + 'a' }}");
  CHECK(contains(e, "unsupported operand type(s) for +: 'int' and 'str'"));

  e = render_error("{% for x in 5 %}{% endfor %}");
  CHECK(contains(e, "'int' object is not iterable"));

  e = render_error("{{ none() }}");
  CHECK(contains(e, "'NoneType' object is not callable"));

  e = render_error("{{ x is frob }}");
  CHECK(contains(e, "no test named 'frob'"));

  e = render_error("{% set x = 1 %}{% set x.a = 2 %}");
  CHECK(contains(e, "namespace"));

  e = render_error("{{ [1]|tojson }}{{ u|tojson }}");
  CHECK(contains(e, "not JSON serializable"));
}

TEST_CASE("syntax errors are model_format naming line:column and what was expected") {
  struct Bad {
    const char* source;
    const char* location;
    const char* what;
  };
  const Bad cases[] = {
      {"hello {{ name", "1:", "expected '}}'"},
      {"{% if x %}never closed", "1:", "expected 'elif'"},
      {"{% frob %}", "1:4", "unknown tag 'frob'"},
      {"a\n{% for x in y %}{{ x }}", "2:", "expected 'else'"},
      {"{{ 1 + }}", "1:8", "expected an expression"},
      {"{{ 'abc }}", "1:4", "unterminated string"},
      {"x\n\n{# abc", "3:1", "missing end of comment"},
      {"{{ (1 }}", "1:", "unexpected '}', expected ')'"},
      {"{% break %}", "1:4", "'break' outside of a loop"},
      {"{% endif %}", "1:4", "unknown tag 'endif'"},
      {"{{ 1 ! 2 }}", "1:6", "unexpected character '!'"},
  };
  for (const auto& c : cases) {
    const std::string source = c.source;
    CAPTURE(source);
    try {
      (void)cnai::ChatTemplate::parse(c.source);
      FAIL("parsed without error");
    } catch (const cnai::Error& e) {
      CHECK(e.code() == cnai::ErrorCode::model_format);
      CHECK(contains(e, std::string("syntax error at ") + c.location));
      CHECK(contains(e, c.what));
      CAPTURE(std::string(e.what()));
    }
  }
}

TEST_CASE("limits stop hostile templates with an error instead of a crash or hang") {
  // Unbounded macro recursion.
  auto e = render_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  CHECK(e.code() == cnai::ErrorCode::invalid_argument);
  CHECK(contains(e, "recursion too deep"));

  // Expression nesting beyond the parser's limit.
  std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  try {
    (void)cnai::ChatTemplate::parse(deep);
    FAIL("parsed");
  } catch (const cnai::Error& ex) {
    CHECK(ex.code() == cnai::ErrorCode::model_format);
    CHECK(contains(ex, "nested too deeply"));
  }

  // Output over 64 MiB.
  e = render_error("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}");
  CHECK(contains(e, "too large"));

  // A string doubling itself.
  e = render_error("{% set ns = namespace(s='ab') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}");
  CHECK(contains(e, "too large"));

  // Ranges over jinja2's sandbox limit, and loops nested past the step budget.
  e = render_error("{{ range(1000000)|length }}");
  CHECK(contains(e, "Range too big"));
}

TEST_CASE("the step budget stops templates that loop too long") {
  // Same engine with a small budget (the default, 20M steps, takes seconds to exhaust).
  auto globals = std::make_shared<cnai::text::jinja::Frame>();
  cnai::text::jinja::add_builtin_globals(*globals);
  cnai::text::jinja::Limits limits;
  limits.max_steps = 100'000;
  cnai::text::jinja::Interpreter interpreter(globals, limits);
  const auto tree = cnai::text::jinja::parse_template("{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}");
  try {
    (void)interpreter.render(*tree);
    FAIL("rendered");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == cnai::ErrorCode::invalid_argument);
    CHECK(contains(e, "too long"));
  }
  // A loop under the budget renders.
  const auto small = cnai::text::jinja::parse_template("{% for a in range(100) %}{% for b in range(100) %}{% endfor %}{% endfor %}ok");
  CHECK(interpreter.render(*small) == "ok");
}
