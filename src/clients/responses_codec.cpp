#include "clients/responses_codec.hpp"

#include "api/json_fields.hpp"
#include "cnai/core/error.hpp"

namespace cnai::clients {
namespace {

namespace bj = boost::json;
constexpr std::string_view kContext = "OpenAI responses response";

bj::value parse_user_json(const std::string& text, const std::string& what) {
  boost::system::error_code ec;
  bj::value v = bj::parse(text, ec);
  if (ec) throw Error(ErrorCode::invalid_argument, what + " is not valid JSON: " + ec.message());
  return v;
}

std::string text_of(const Message& m) {
  if (m.parts.empty()) return m.content;
  std::string out;
  for (const auto& p : m.parts) out += p.text;
  return out;
}

void append_input_items(const Message& m, bj::array& input) {
  if (m.role == Role::tool) {
    input.push_back(bj::object{{"type", "function_call_output"}, {"call_id", m.tool_call_id.value_or("")}, {"output", text_of(m)}});
    return;
  }
  std::string text = text_of(m);
  if (!text.empty() || m.tool_calls.empty()) {
    input.push_back(bj::object{{"role", std::string(to_string(m.role))}, {"content", text}});
  }
  for (const ToolCall& c : m.tool_calls) {
    input.push_back(bj::object{{"type", "function_call"}, {"call_id", c.id}, {"name", c.name}, {"arguments", c.arguments}});
  }
}

void read_output_item(const json::Fields& item, Choice& choice) {
  std::string type = item.str("type");
  if (type == "function_call") {
    ToolCall call;
    call.id = item.str("call_id", item.str("id"));
    call.name = item.str("name");
    call.arguments = item.str("arguments");
    choice.message.tool_calls.push_back(std::move(call));
  } else if (type == "message") {
    const auto* content = item.array("content");
    for (std::size_t i = 0; content && i < content->size(); ++i) {
      json::Fields part = item.element("content", *content, i);
      if (part.str("type") == "output_text") choice.message.content += part.str("text");
    }
  }
}

}  // namespace

std::string to_responses_json(const ChatRequest& r) {
  bj::object o{{"model", r.model}, {"store", false}};
  bj::array input;
  for (const Message& m : r.messages) append_input_items(m, input);
  o["input"] = std::move(input);
  if (r.max_tokens) o["max_output_tokens"] = *r.max_tokens;
  if (r.sampling.temperature) o["temperature"] = *r.sampling.temperature;
  if (r.sampling.top_p) o["top_p"] = *r.sampling.top_p;
  if (!r.tools.empty()) {
    bj::array tools;
    for (const Tool& t : r.tools) {
      bj::object tool{{"type", "function"}, {"name", t.name},
                      {"parameters", parse_user_json(t.parameters_json, "tool '" + t.name + "' parameters")}};
      if (!t.description.empty()) tool["description"] = t.description;
      tools.push_back(std::move(tool));
    }
    o["tools"] = std::move(tools);
  }
  if (r.tool_choice) {
    const std::string& c = *r.tool_choice;
    if (c == "auto" || c == "none" || c == "required") o["tool_choice"] = c;
    else o["tool_choice"] = bj::object{{"type", "function"}, {"name", c}};
  }
  if (r.response_format && r.response_format->type == "json_object") {
    o["text"] = bj::object{{"format", bj::object{{"type", "json_object"}}}};
  } else if (r.response_format && r.response_format->type == "json_schema") {
    const auto& f = *r.response_format;
    o["text"] = bj::object{{"format", bj::object{{"type", "json_schema"},
                                                 {"name", f.schema_name.empty() ? "response" : f.schema_name},
                                                 {"schema", parse_user_json(f.json_schema, "response_format.json_schema")},
                                                 {"strict", f.strict}}}};
  }
  if (r.user) o["user"] = *r.user;
  return json::dump(o);
}

ChatResponse chat_response_from_responses_json(std::string_view body) {
  auto doc = json::parse(body, kContext);
  json::Fields root = json::Fields::root(doc, kContext);
  if (auto err = root.object("error")) {
    throw Error(ErrorCode::upstream, "OpenAI responses: " + err->str("message", "error without message"));
  }
  ChatResponse r;
  r.id = root.str("id");
  r.model = root.str("model");
  r.created = root.int64("created_at");
  Choice choice;
  choice.message.role = Role::assistant;
  const auto* output = root.array("output");
  if (!output) root.fail("output", "is missing");
  for (std::size_t i = 0; i < output->size(); ++i) read_output_item(root.element("output", *output, i), choice);
  std::string status = root.str("status", "completed");
  if (!choice.message.tool_calls.empty()) {
    choice.finish_reason = FinishReason::tool_calls;
  } else if (status == "incomplete") {
    auto details = root.object("incomplete_details");
    std::string reason = details ? details->str("reason") : "";
    choice.finish_reason = reason == "content_filter" ? FinishReason::content_filter : FinishReason::length;
  } else {
    choice.finish_reason = FinishReason::stop;
  }
  r.choices.push_back(std::move(choice));
  if (auto u = root.object("usage")) {
    r.usage.prompt_tokens = u->count("input_tokens");
    r.usage.completion_tokens = u->count("output_tokens");
    r.usage.total_tokens = u->count("total_tokens", r.usage.prompt_tokens + r.usage.completion_tokens);
    if (auto d = u->object("input_tokens_details")) r.usage.cached_prompt_tokens = d->count("cached_tokens");
  }
  return r;
}

}  // namespace cnai::clients
