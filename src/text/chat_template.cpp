// ChatTemplate: parses once, renders conversations through the Jinja engine
// with the globals Hugging Face gives chat templates.
#include "cnai/text/chat_template.hpp"

#include "cnai/core/error.hpp"
#include "text/jinja/globals.hpp"
#include "text/jinja/interpreter.hpp"
#include "text/jinja/json_value.hpp"
#include "text/jinja/parser.hpp"

namespace cnai {

namespace text {
struct ChatTemplateImpl {
  std::string source;
  std::shared_ptr<const text::jinja::Template> tree;
};
}  // namespace text

namespace {

using text::jinja::Dict;
using text::jinja::List;
using text::jinja::Value;

// Tool-call arguments: the parsed object when the text is a JSON object, else the text.
Value arguments_value(const std::string& text) {
  try {
    Value v = text::jinja::parse_json_value(text, "tool call arguments");
    if (v.is_dict()) return v;
  } catch (const Error&) {
  }
  return Value::string(text);
}

Value message_value(const Message& m) {
  Dict d;
  d.set("role", Value::string(std::string(to_string(m.role))));
  if (!m.parts.empty()) {
    List parts;
    for (const auto& p : m.parts) {
      Dict part;
      part.set("type", Value::string(p.type));
      if (p.type == "image_url") {
        Dict url;
        url.set("url", Value::string(p.image_url));
        part.set("image_url", Value::make_dict(std::move(url)));
      } else {
        part.set("text", Value::string(p.text));
      }
      parts.push_back(Value::make_dict(std::move(part)));
    }
    d.set("content", Value::make_list(std::move(parts)));
  } else if (m.content.empty() && !m.tool_calls.empty()) {
    d.set("content", Value::none());  // OpenAI sends null content with tool calls
  } else {
    d.set("content", Value::string(m.content));
  }
  if (!m.tool_calls.empty()) {
    List calls;
    for (const auto& c : m.tool_calls) {
      Dict fn;
      fn.set("name", Value::string(c.name));
      fn.set("arguments", arguments_value(c.arguments));
      Dict call;
      call.set("id", Value::string(c.id));
      call.set("type", Value::string(c.type));
      call.set("function", Value::make_dict(std::move(fn)));
      calls.push_back(Value::make_dict(std::move(call)));
    }
    d.set("tool_calls", Value::make_list(std::move(calls)));
  }
  if (m.tool_call_id) d.set("tool_call_id", Value::string(*m.tool_call_id));
  if (m.name) d.set("name", Value::string(*m.name));
  return Value::make_dict(std::move(d));
}

Value tool_value(const Tool& t) {
  Dict fn;
  fn.set("name", Value::string(t.name));
  fn.set("description", Value::string(t.description));
  fn.set("parameters", text::jinja::parse_json_value(t.parameters_json.empty() ? "{}" : t.parameters_json,
                                               "parameters of tool '" + t.name + "'"));
  Dict d;
  d.set("type", Value::string(t.type));
  d.set("function", Value::make_dict(std::move(fn)));
  return Value::make_dict(std::move(d));
}

void merge_json_object(text::jinja::Frame& frame, std::string_view json, std::string_view what) {
  if (json.empty()) return;
  Value v = text::jinja::parse_json_value(json, what);
  if (!v.is_dict()) throw Error(ErrorCode::invalid_argument, std::string(what) + " must be a JSON object");
  for (auto& [k, x] : v.dict->entries) frame.vars[k.s] = x;  // JSON object keys: strings
}

std::string run(const text::ChatTemplateImpl& impl, std::shared_ptr<text::jinja::Frame> globals) {
  text::jinja::Interpreter interpreter(std::move(globals));
  return interpreter.render(*impl.tree);
}

constexpr std::string_view kChatMl =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

}  // namespace

ChatTemplate::ChatTemplate(std::shared_ptr<const text::ChatTemplateImpl> impl) : impl_(std::move(impl)) {}

ChatTemplate ChatTemplate::parse(std::string_view source) {
  auto impl = std::make_shared<text::ChatTemplateImpl>();
  impl->source = std::string(source);
  impl->tree = text::jinja::parse_template(source);
  return ChatTemplate(std::move(impl));
}

ChatTemplate ChatTemplate::chatml() { return parse(kChatMl); }

std::string ChatTemplate::render(const ChatTemplateInputs& inputs) const {
  auto globals = std::make_shared<text::jinja::Frame>();
  text::jinja::add_builtin_globals(*globals, inputs.now);
  List messages;
  for (const auto& m : inputs.messages) messages.push_back(message_value(m));
  globals->vars["messages"] = Value::make_list(std::move(messages));
  if (inputs.tools.empty()) {
    globals->vars["tools"] = Value::none();
  } else {
    List tools;
    for (const auto& t : inputs.tools) tools.push_back(tool_value(t));
    globals->vars["tools"] = Value::make_list(std::move(tools));
  }
  globals->vars["add_generation_prompt"] = Value::boolean(inputs.add_generation_prompt);
  globals->vars["bos_token"] = Value::string(inputs.bos_token);
  globals->vars["eos_token"] = Value::string(inputs.eos_token);
  merge_json_object(*globals, inputs.extra_context_json, "extra_context_json");
  return run(*impl_, std::move(globals));
}

std::string ChatTemplate::render_json(std::string_view context_json,
                                      std::optional<std::chrono::system_clock::time_point> now) const {
  auto globals = std::make_shared<text::jinja::Frame>();
  text::jinja::add_builtin_globals(*globals, now);
  merge_json_object(*globals, context_json, "template context");
  return run(*impl_, std::move(globals));
}

const std::string& ChatTemplate::source() const noexcept { return impl_->source; }

}  // namespace cnai
