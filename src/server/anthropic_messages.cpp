// Messages API <-> shared types. Anthropic's content blocks map onto the
// OpenAI-shaped vocabulary: a user message's tool_result blocks become tool
// messages (before its text, as the results answer the previous turn), an
// assistant's tool_use blocks its tool calls, image blocks image_url parts.
#include "server/anthropic_messages.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>

#include "api/json_fields.hpp"
#include "cnai/api/json.hpp"
#include "core/printable.hpp"

namespace cnai::server {
namespace {

namespace bj = boost::json;

constexpr std::string_view kContext = "message request";
constexpr ErrorCode kClientFault = ErrorCode::invalid_argument;
constexpr std::size_t kMaxStopSequences = 16;

std::string required_str(const json::Fields& f, std::string_view key) {
  auto s = f.opt_str(key);
  if (!s) f.fail(key, "is missing");
  return std::move(*s);
}

// A text block's text (system prompts and tool results allow only text).
std::string text_of_blocks(const json::Fields& parent, std::string_view key) {
  const bj::value* v = parent.raw(key);
  if (!v) return {};
  if (v->is_string()) return std::string(v->get_string());
  const bj::array* blocks = parent.array(key);
  std::string text;
  for (std::size_t i = 0; i < blocks->size(); ++i) {
    json::Fields b = parent.element(key, *blocks, i);
    const std::string type = required_str(b, "type");
    if (type != "text") b.fail("type", fmt::format("'{}' is not supported here (text is)", core::printable(type, 40)), ErrorCode::unsupported);
    if (!text.empty()) text += "\n";
    text += required_str(b, "text");
  }
  return text;
}

ContentPart image_part(const json::Fields& b) {
  auto source = b.object("source");
  if (!source) b.fail("source", "is missing");
  const std::string type = required_str(*source, "type");
  ContentPart part;
  part.type = "image_url";
  if (type == "base64") {
    part.image_url = "data:" + required_str(*source, "media_type") + ";base64," + required_str(*source, "data");
  } else if (type == "url") {
    part.image_url = required_str(*source, "url");
  } else {
    source->fail("type", "must be \"base64\" or \"url\"");
  }
  return part;
}

// One Messages API message -> one or more shared messages, appended to `out`.
void add_message(const json::Fields& m, std::vector<Message>& out) {
  const std::string role = required_str(m, "role");
  if (role != "user" && role != "assistant") m.fail("role", "must be \"user\" or \"assistant\"");
  Message msg;
  msg.role = role == "user" ? Role::user : Role::assistant;
  const bj::value* content = m.raw("content");
  if (!content) m.fail("content", "is missing");
  if (content->is_string()) {
    msg.content = std::string(content->get_string());
    out.push_back(std::move(msg));
    return;
  }
  const bj::array* blocks = m.array("content");
  for (std::size_t i = 0; i < blocks->size(); ++i) {
    json::Fields b = m.element("content", *blocks, i);
    const std::string type = required_str(b, "type");
    if (type == "text") {
      msg.parts.push_back({"text", required_str(b, "text"), {}});
    } else if (type == "image") {
      if (msg.role != Role::user) b.fail("type", "image blocks belong to user messages");
      msg.parts.push_back(image_part(b));
    } else if (type == "tool_use") {
      if (msg.role != Role::assistant) b.fail("type", "tool_use blocks belong to assistant messages");
      const bj::value* input = b.raw("input");
      if (input && !input->is_object()) b.fail("input", "expected an object");
      msg.tool_calls.push_back({required_str(b, "id"), "function", required_str(b, "name"),
                                input ? json::dump(*input) : std::string("{}")});
    } else if (type == "tool_result") {
      if (msg.role != Role::user) b.fail("type", "tool_result blocks belong to user messages");
      Message result = Message::make(Role::tool, text_of_blocks(b, "content"));
      result.tool_call_id = required_str(b, "tool_use_id");
      if (b.opt_bool("is_error").value_or(false)) result.content = "Error: " + result.content;
      out.push_back(std::move(result));
    } else if (type == "thinking" || type == "redacted_thinking") {
      continue;  // earlier turns' thinking: nothing a model here reads
    } else {
      b.fail("type", fmt::format("'{}' is not supported (text, image, tool_use, tool_result are)", core::printable(type, 40)),
             ErrorCode::unsupported);
    }
  }
  // Text only: plain content, as the OpenAI decoder gives it.
  const bool text_only = std::all_of(msg.parts.begin(), msg.parts.end(), [](const ContentPart& p) { return p.type == "text"; });
  if (text_only) {
    for (std::size_t i = 0; i < msg.parts.size(); ++i) msg.content += (i ? "\n" : "") + msg.parts[i].text;
    msg.parts.clear();
  }
  if (!msg.content.empty() || !msg.parts.empty() || !msg.tool_calls.empty()) out.push_back(std::move(msg));
}

Tool tool_of(const json::Fields& t) {
  if (auto type = t.opt_str("type"); type && *type != "custom") {
    t.fail("type", fmt::format("'{}' is not supported (client tools are)", core::printable(*type, 40)), ErrorCode::unsupported);
  }
  Tool tool;
  tool.name = required_str(t, "name");
  tool.description = t.str("description");
  const bj::value* schema = t.raw("input_schema");
  if (!schema) t.fail("input_schema", "is missing");
  if (!schema->is_object()) t.fail("input_schema", "expected an object (a JSON Schema)");
  tool.parameters_json = json::dump(*schema);
  return tool;
}

std::optional<std::string> tool_choice_of(const json::Fields& root) {
  auto tc = root.object("tool_choice");
  if (!tc) return std::nullopt;
  const std::string type = required_str(*tc, "type");
  if (type == "auto" || type == "none") return type;
  if (type == "any") return "required";
  if (type == "tool") return required_str(*tc, "name");
  tc->fail("type", "must be \"auto\", \"any\", \"tool\" or \"none\"");
}

std::optional<float> opt_float(const json::Fields& f, std::string_view key) {
  auto d = f.opt_double(key);
  if (!d) return std::nullopt;
  return static_cast<float>(*d);
}

std::string_view error_type_for(int status) {
  switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503:
    case 529: return "overloaded_error";
    case 504: return "timeout_error";
    default: return "api_error";
  }
}

std::string error_body(int status, std::string_view message) {
  return json::dump(bj::object{{"type", "error"},
                               {"error", bj::object{{"type", error_type_for(status)}, {"message", message}}}});
}

std::string event(std::string_view name, const bj::object& data) {
  return fmt::format("event: {}\ndata: {}\n\n", name, json::dump(data));
}

bj::object usage_of(const Usage& u) {
  bj::object o{{"input_tokens", u.prompt_tokens}, {"output_tokens", u.completion_tokens}};
  if (u.cached_prompt_tokens > 0) o["cache_read_input_tokens"] = u.cached_prompt_tokens;
  return o;
}

bj::value tool_input(const std::string& arguments) {
  boost::system::error_code ec;
  bj::value v = bj::parse(arguments.empty() ? "{}" : arguments, ec);
  if (ec || !v.is_object()) return bj::object{};  // a model's malformed arguments: an empty input
  return v;
}

}  // namespace

ChatRequest chat_request_from_anthropic_json(std::string_view body) {
  auto doc = json::parse(body, kContext, kClientFault);
  json::Fields root = json::Fields::root(doc, kContext, kClientFault);
  ChatRequest r;
  r.model = required_str(root, "model");
  if (!root.has("max_tokens")) root.fail("max_tokens", "is missing");
  r.max_tokens = static_cast<int>(root.int_in("max_tokens", 1, std::int64_t{1} << 30));
  if (const std::string system = text_of_blocks(root, "system"); !system.empty()) {
    r.messages.push_back(Message::system(system));
  }
  const bj::array* messages = root.array("messages");
  if (!messages) root.fail("messages", "is missing");
  if (messages->empty()) root.fail("messages", "is empty");
  for (std::size_t i = 0; i < messages->size(); ++i) add_message(root.element("messages", *messages, i), r.messages);
  r.sampling.temperature = opt_float(root, "temperature");
  r.sampling.top_p = opt_float(root, "top_p");
  if (root.has("top_k")) r.sampling.top_k = static_cast<int>(root.int_in("top_k", 0, 1 << 20));
  if (const bj::array* stops = root.array("stop_sequences")) {
    if (stops->size() > kMaxStopSequences) root.fail("stop_sequences", fmt::format("has more than {}", kMaxStopSequences));
    for (std::size_t i = 0; i < stops->size(); ++i) {
      const bj::string* s = (*stops)[i].if_string();
      if (!s) root.fail(fmt::format("stop_sequences[{}]", i), "expected a string");
      r.stop.emplace_back(s->data(), s->size());
    }
  }
  r.stream = root.opt_bool("stream").value_or(false);
  if (const bj::array* tools = root.array("tools")) {
    for (std::size_t i = 0; i < tools->size(); ++i) r.tools.push_back(tool_of(root.element("tools", *tools, i)));
  }
  r.tool_choice = tool_choice_of(root);
  if (auto md = root.object("metadata")) r.user = md->opt_str("user_id");
  if (auto oc = root.object("output_config")) {  // effort: nothing to tune here; format: structured output
    if (auto format = oc->object("format")) {
      if (required_str(*format, "type") != "json_schema") format->fail("type", "must be \"json_schema\"");
      const bj::value* schema = format->raw("schema");
      if (!schema || !schema->is_object()) format->fail("schema", "expected an object (a JSON Schema)");
      r.response_format = ResponseFormat{"json_schema", json::dump(*schema), "output", true};
    }
  }
  if (auto thinking = root.object("thinking"); thinking && thinking->str("type") == "enabled") {
    root.fail("thinking", "is not supported by this server", ErrorCode::unsupported);
  }
  return r;
}

std::string_view anthropic_stop_reason(FinishReason finish) {
  switch (finish) {
    case FinishReason::length: return "max_tokens";
    case FinishReason::tool_calls: return "tool_use";
    case FinishReason::content_filter: return "refusal";
    default: return "end_turn";
  }
}

std::string anthropic_message_json(const ChatResponse& response, std::string_view id) {
  bj::array content;
  FinishReason finish = FinishReason::stop;
  if (!response.choices.empty()) {
    const Choice& c = response.choices.front();
    finish = c.finish_reason;
    if (!c.message.content.empty() || c.message.tool_calls.empty()) {
      content.push_back(bj::object{{"type", "text"}, {"text", c.message.content}});
    }
    for (const ToolCall& t : c.message.tool_calls) {
      content.push_back(bj::object{{"type", "tool_use"}, {"id", t.id}, {"name", t.name}, {"input", tool_input(t.arguments)}});
    }
  }
  return json::dump(bj::object{{"id", id},
                               {"type", "message"},
                               {"role", "assistant"},
                               {"model", response.model},
                               {"content", std::move(content)},
                               {"stop_reason", anthropic_stop_reason(finish)},
                               {"stop_sequence", nullptr},
                               {"usage", usage_of(response.usage)}});
}

AnthropicSseWriter::AnthropicSseWriter(std::string id, std::string model) : id_(std::move(id)), model_(std::move(model)) {}

std::string AnthropicSseWriter::start_if_needed() {
  if (started_) return {};
  started_ = true;
  bj::object message{{"id", id_},           {"type", "message"},        {"role", "assistant"},
                     {"model", model_},     {"content", bj::array{}},   {"stop_reason", nullptr},
                     {"stop_sequence", nullptr}, {"usage", bj::object{{"input_tokens", 0}, {"output_tokens", 0}}}};
  return event("message_start", {{"type", "message_start"}, {"message", std::move(message)}});
}

std::string AnthropicSseWriter::close_block() {
  if (block_ == Block::none) return {};
  block_ = Block::none;
  return event("content_block_stop", {{"type", "content_block_stop"}, {"index", index_}});
}

std::string AnthropicSseWriter::chunk(const ChatChunk& c) {
  std::string out = start_if_needed();
  if (!c.delta_content.empty()) {
    if (block_ != Block::text) {
      out += close_block();
      block_ = Block::text;
      ++index_;
      out += event("content_block_start", {{"type", "content_block_start"},
                                           {"index", index_},
                                           {"content_block", bj::object{{"type", "text"}, {"text", ""}}}});
    }
    out += event("content_block_delta", {{"type", "content_block_delta"},
                                         {"index", index_},
                                         {"delta", bj::object{{"type", "text_delta"}, {"text", c.delta_content}}}});
  }
  for (const auto& t : c.tool_calls) {
    if (block_ != Block::tool || t.index != tool_index_) {
      out += close_block();
      block_ = Block::tool;
      tool_index_ = t.index;
      ++index_;
      out += event("content_block_start",
                   {{"type", "content_block_start"},
                    {"index", index_},
                    {"content_block", bj::object{{"type", "tool_use"}, {"id", t.id}, {"name", t.name}, {"input", bj::object{}}}}});
    }
    if (!t.arguments.empty()) {
      out += event("content_block_delta",
                   {{"type", "content_block_delta"},
                    {"index", index_},
                    {"delta", bj::object{{"type", "input_json_delta"}, {"partial_json", t.arguments}}}});
    }
  }
  return out;
}

std::string AnthropicSseWriter::finish(const ChatResponse& response) {
  std::string out = start_if_needed();
  out += close_block();
  const FinishReason finish = response.choices.empty() ? FinishReason::stop : response.choices.front().finish_reason;
  out += event("message_delta", {{"type", "message_delta"},
                                 {"delta", bj::object{{"stop_reason", anthropic_stop_reason(finish)}, {"stop_sequence", nullptr}}},
                                 {"usage", usage_of(response.usage)}});
  out += event("message_stop", {{"type", "message_stop"}});
  return out;
}

std::string AnthropicSseWriter::error(const Error& e) {
  const int status = http_status_for(e.code());
  std::string_view m = e.what();
  const std::string_view code = to_string(e.code());
  if (m.starts_with(code) && m.substr(code.size()).starts_with(": ")) m.remove_prefix(code.size() + 2);
  return fmt::format("event: error\ndata: {}\n\n", error_body(status, m));
}

void to_anthropic_error(HttpReply& reply) {
  if (reply.status < 400) return;
  std::string message = "Request failed";
  boost::system::error_code ec;
  const bj::value v = bj::parse(reply.body, ec);
  if (!ec && v.is_object()) {
    const bj::value* err = v.as_object().if_contains("error");
    const bj::value* m = err && err->is_object() ? err->as_object().if_contains("message") : nullptr;
    if (m && m->is_string()) message = std::string(m->as_string());
    if (const bj::value* type = v.as_object().if_contains("type"); type && type->is_string() && type->as_string() == "error") {
      return;  // already Anthropic's shape
    }
  }
  reply.content_type = "application/json";
  reply.body = error_body(reply.status, message);
}

}  // namespace cnai::server
