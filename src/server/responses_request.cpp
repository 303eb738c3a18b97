// Responses request body -> ChatRequest: instructions become a system
// message, input items become messages (function_call items become an
// assistant's tool calls, function_call_output items tool messages).
#include <boost/json.hpp>
#include <fmt/format.h>

#include "cnai/core/error.hpp"
#include "server/json_body.hpp"
#include "server/responses_codec.hpp"

namespace cnai::server {
namespace {

namespace bj = boost::json;

[[noreturn]] void bad(std::string_view field, std::string_view what) {
  throw Error(ErrorCode::invalid_argument, fmt::format("{}: {}", field, what));
}

const bj::value* get(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v && !v->is_null() ? v : nullptr;
}

std::string str(const bj::object& o, std::string_view key, std::string_view path) {
  const bj::value* v = get(o, key);
  if (!v) return {};
  if (!v->is_string()) bad(fmt::format("{}{}", path, key), "expected a string");
  return std::string(v->as_string());
}

std::optional<double> number(const bj::object& o, std::string_view key) {
  const bj::value* v = get(o, key);
  if (!v) return std::nullopt;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  bad(key, "expected a number");
}

Role role_of(std::string_view r, const std::string& field) {
  if (r == "user") return Role::user;
  if (r == "assistant") return Role::assistant;
  if (r == "system") return Role::system;
  if (r == "developer") return Role::developer;
  bad(field, fmt::format("unknown role '{}'", r));
}

// Message content: a string, or parts of type input_text / output_text.
std::string content_text(const bj::value& c, const std::string& field) {
  if (c.is_string()) return std::string(c.as_string());
  if (!c.is_array()) bad(field, "expected a string or an array of content parts");
  std::string text;
  const bj::array& parts = c.as_array();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string f = fmt::format("{}[{}]", field, i);
    if (!parts[i].is_object()) bad(f, "expected an object");
    const bj::object& p = parts[i].as_object();
    const std::string type = str(p, "type", f + ".");
    if (type != "input_text" && type != "output_text" && type != "text") {
      throw Error(ErrorCode::unsupported, fmt::format("{}.type: content part '{}' is not supported", f, type));
    }
    text += str(p, "text", f + ".");
  }
  return text;
}

void add_item(ChatRequest& chat, const bj::value& item, std::size_t i) {
  const std::string f = fmt::format("input[{}]", i);
  if (!item.is_object()) bad(f, "expected an object");
  const bj::object& o = item.as_object();
  const std::string type = str(o, "type", f + ".");
  if (type.empty() || type == "message") {
    Message m;
    m.role = role_of(str(o, "role", f + "."), f + ".role");
    const bj::value* c = get(o, "content");
    if (!c) bad(f + ".content", "is required");
    m.content = content_text(*c, f + ".content");
    chat.messages.push_back(std::move(m));
  } else if (type == "function_call") {
    ToolCall call{str(o, "call_id", f + "."), "function", str(o, "name", f + "."), str(o, "arguments", f + ".")};
    if (chat.messages.empty() || chat.messages.back().role != Role::assistant) {
      chat.messages.push_back(Message::assistant(""));
    }
    chat.messages.back().tool_calls.push_back(std::move(call));
  } else if (type == "function_call_output") {
    Message m = Message::make(Role::tool, str(o, "output", f + "."));
    m.tool_call_id = str(o, "call_id", f + ".");
    chat.messages.push_back(std::move(m));
  } else {
    throw Error(ErrorCode::unsupported, fmt::format("{}.type: input item '{}' is not supported", f, type));
  }
}

void add_tools(ChatRequest& chat, const bj::value& tools) {
  if (!tools.is_array()) bad("tools", "expected an array");
  for (std::size_t i = 0; i < tools.as_array().size(); ++i) {
    const std::string f = fmt::format("tools[{}]", i);
    const bj::value& t = tools.as_array()[i];
    if (!t.is_object()) bad(f, "expected an object");
    const bj::object& o = t.as_object();
    if (str(o, "type", f + ".") != "function") {
      throw Error(ErrorCode::unsupported, fmt::format("{}.type: only function tools are supported", f));
    }
    Tool tool;
    tool.name = str(o, "name", f + ".");
    if (tool.name.empty()) bad(f + ".name", "is required");
    tool.description = str(o, "description", f + ".");
    if (const bj::value* p = get(o, "parameters")) tool.parameters_json = bj::serialize(*p);
    chat.tools.push_back(std::move(tool));
  }
}

}  // namespace

ResponsesRequest responses_request_from_json(std::string_view body) {
  const bj::object o = parse_body_object(body);
  ResponsesRequest out;
  ChatRequest& chat = out.chat;
  chat.model = str(o, "model", "");
  out.instructions = str(o, "instructions", "");
  if (!out.instructions.empty()) chat.messages.push_back(Message::system(out.instructions));
  const bj::value* input = get(o, "input");
  if (!input) bad("input", "is required");
  if (input->is_string()) {
    chat.messages.push_back(Message::user(std::string(input->as_string())));
  } else if (input->is_array()) {
    for (std::size_t i = 0; i < input->as_array().size(); ++i) add_item(chat, input->as_array()[i], i);
  } else {
    bad("input", "expected a string or an array of items");
  }
  if (auto t = number(o, "temperature")) chat.sampling.temperature = static_cast<float>(*t);
  if (auto p = number(o, "top_p")) chat.sampling.top_p = static_cast<float>(*p);
  if (auto m = number(o, "max_output_tokens")) chat.max_tokens = static_cast<int>(*m);
  if (const bj::value* t = get(o, "tools")) add_tools(chat, *t);
  if (const bj::value* tc = get(o, "tool_choice")) {
    if (tc->is_string()) chat.tool_choice = std::string(tc->as_string());
    else if (tc->is_object()) chat.tool_choice = str(tc->as_object(), "name", "tool_choice.");
  }
  if (const bj::value* s = get(o, "stream")) {
    if (!s->is_bool()) bad("stream", "expected a boolean");
    chat.stream = s->as_bool();
  }
  if (const bj::value* b = get(o, "background")) {
    if (!b->is_bool()) bad("background", "expected a boolean");
    out.background = b->as_bool();
  }
  if (const bj::value* m = get(o, "metadata")) {
    if (!m->is_object()) bad("metadata", "expected an object");
    out.metadata_json = bj::serialize(*m);
  }
  if (const bj::value* u = get(o, "user"); u && u->is_string()) chat.user = std::string(u->as_string());
  return out;
}

}  // namespace cnai::server
