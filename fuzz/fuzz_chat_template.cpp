// Fuzzes the Jinja engine: parse arbitrary source, then render it against a
// small fixed conversation with tight limits. Errors are fine (Error with
// model_format from parsing, invalid_argument from rendering); crashes, hangs
// and other exception types are not.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "cnai/core/error.hpp"
#include "text/jinja/globals.hpp"
#include "text/jinja/interpreter.hpp"
#include "text/jinja/json_value.hpp"
#include "text/jinja/parser.hpp"

namespace {

std::shared_ptr<cnai::text::jinja::Frame> make_globals() {
  auto g = std::make_shared<cnai::text::jinja::Frame>();
  cnai::text::jinja::add_builtin_globals(*g);
  const auto ctx = cnai::text::jinja::parse_json_value(
      R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi 😀"},
          {"role": "assistant", "content": null, "tool_calls": [{"id": "call12345", "type": "function",
            "function": {"name": "f", "arguments": {"a": 1}}}]},
          {"role": "tool", "tool_call_id": "call12345", "content": "42"}],
          "tools": [{"type": "function", "function": {"name": "f", "description": "d",
            "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}}}],
          "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"})",
      "fuzz context");
  for (const auto& [k, v] : ctx.dict->entries) g->vars[k.s] = v;  // JSON keys: strings
  return g;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto globals = make_globals();
  const std::string source(reinterpret_cast<const char*>(data), size);
  std::shared_ptr<const cnai::text::jinja::Template> tree;
  try {
    tree = cnai::text::jinja::parse_template(source);
  } catch (const cnai::Error& e) {
    if (e.code() != cnai::ErrorCode::model_format) std::abort();
    return 0;
  }
  cnai::text::jinja::Limits limits;
  limits.max_depth = 64;
  limits.max_steps = 200'000;
  limits.max_output_bytes = 1u << 20;
  try {
    cnai::text::jinja::Interpreter interpreter(globals, limits);
    (void)interpreter.render(*tree);
  } catch (const cnai::Error& e) {
    if (e.code() != cnai::ErrorCode::invalid_argument) std::abort();
  }
  return 0;
}
