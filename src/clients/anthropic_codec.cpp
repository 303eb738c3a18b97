#include "clients/anthropic_codec.hpp"

#include "api/json_fields.hpp"
#include "cnai/core/error.hpp"
#include "core/printable.hpp"

namespace cnai::clients {
namespace {

namespace bj = boost::json;
constexpr std::string_view kContext = "Anthropic messages response";
constexpr std::string_view kStreamContext = "Anthropic stream event";

bj::value parse_user_json(const std::string& text, const std::string& what) {
  boost::system::error_code ec;
  bj::value v = bj::parse(text.empty() ? std::string("{}") : text, ec);
  if (ec) throw Error(ErrorCode::invalid_argument, what + " is not valid JSON: " + ec.message());
  return v;
}

bj::array content_blocks(const Message& m) {
  bj::array blocks;
  if (m.role == Role::tool) {
    blocks.push_back(bj::object{{"type", "tool_result"}, {"tool_use_id", m.tool_call_id.value_or("")}, {"content", m.content}});
    return blocks;
  }
  if (m.parts.empty()) {
    if (!m.content.empty()) blocks.push_back(bj::object{{"type", "text"}, {"text", m.content}});
  }
  for (const ContentPart& p : m.parts) {
    if (p.type == "image_url") {
      blocks.push_back(bj::object{{"type", "image"}, {"source", bj::object{{"type", "url"}, {"url", p.image_url}}}});
    } else {
      blocks.push_back(bj::object{{"type", "text"}, {"text", p.text}});
    }
  }
  for (const ToolCall& c : m.tool_calls) {
    blocks.push_back(bj::object{{"type", "tool_use"}, {"id", c.id}, {"name", c.name},
                                {"input", parse_user_json(c.arguments, "tool call '" + c.name + "' arguments")}});
  }
  return blocks;
}

/// Anthropic wants alternating user/assistant turns: tool results become user
/// turns, and consecutive same-role turns merge.
bj::array encode_messages(const ChatRequest& r, std::string& system) {
  bj::array messages;
  std::string last_role;
  for (const Message& m : r.messages) {
    if (m.role == Role::system || m.role == Role::developer) {
      if (!system.empty()) system += "\n\n";
      system += m.content;
      for (const auto& p : m.parts) system += p.text;
      continue;
    }
    std::string role = m.role == Role::assistant ? "assistant" : "user";
    bj::array blocks = content_blocks(m);
    if (role == last_role && !messages.empty()) {
      auto& prev = messages.back().as_object()["content"].as_array();
      for (auto& b : blocks) prev.push_back(std::move(b));
    } else {
      messages.push_back(bj::object{{"role", role}, {"content", std::move(blocks)}});
      last_role = role;
    }
  }
  return messages;
}

bj::value encode_tool_choice(const std::string& c) {
  if (c == "auto") return bj::object{{"type", "auto"}};
  if (c == "required") return bj::object{{"type", "any"}};
  if (c == "none") return bj::object{{"type", "none"}};
  return bj::object{{"type", "tool"}, {"name", c}};
}

void read_usage(const json::Fields& u, Usage& usage) {
  if (u.has("input_tokens")) {
    std::int64_t read = u.count("cache_read_input_tokens");
    std::int64_t created = u.count("cache_creation_input_tokens");
    // input_tokens excludes cached reads/writes; prompt_tokens counts them all.
    usage.prompt_tokens = u.count("input_tokens") + read + created;
    usage.cached_prompt_tokens = read;
  }
  if (u.has("output_tokens")) usage.completion_tokens = u.count("output_tokens");
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
}

std::string input_text(const json::Fields& block) {
  const bj::value* input = block.raw("input");
  return input ? json::dump(*input) : std::string("{}");
}

}  // namespace

FinishReason finish_reason_from_anthropic(std::string_view s) noexcept {
  if (s == "end_turn" || s == "stop_sequence" || s == "pause_turn") return FinishReason::stop;
  if (s == "max_tokens") return FinishReason::length;
  if (s == "tool_use") return FinishReason::tool_calls;
  if (s == "refusal") return FinishReason::content_filter;
  return s.empty() ? FinishReason::none : FinishReason::stop;
}

std::string to_anthropic_json(const ChatRequest& r, int default_max_tokens) {
  std::string system;
  bj::object o;
  o["model"] = r.model;
  o["messages"] = encode_messages(r, system);
  o["max_tokens"] = r.max_tokens.value_or(default_max_tokens);
  if (!system.empty()) o["system"] = system;
  if (r.sampling.temperature) o["temperature"] = *r.sampling.temperature;
  if (r.sampling.top_p) o["top_p"] = *r.sampling.top_p;
  if (r.sampling.top_k) o["top_k"] = *r.sampling.top_k;
  if (!r.stop.empty()) {
    bj::array stop;
    for (const auto& s : r.stop) stop.push_back(bj::string(s));
    o["stop_sequences"] = std::move(stop);
  }
  if (r.stream) o["stream"] = true;
  if (!r.tools.empty()) {
    bj::array tools;
    for (const Tool& t : r.tools) {
      bj::object tool{{"name", t.name}, {"input_schema", parse_user_json(t.parameters_json, "tool '" + t.name + "' parameters")}};
      if (!t.description.empty()) tool["description"] = t.description;
      tools.push_back(std::move(tool));
    }
    o["tools"] = std::move(tools);
  }
  if (r.tool_choice && !r.tools.empty()) o["tool_choice"] = encode_tool_choice(*r.tool_choice);
  if (r.user) o["metadata"] = bj::object{{"user_id", *r.user}};
  return json::dump(o);
}

ChatResponse chat_response_from_anthropic_json(std::string_view body) {
  auto doc = json::parse(body, kContext);
  json::Fields root = json::Fields::root(doc, kContext);
  ChatResponse r;
  r.id = root.str("id");
  r.model = root.str("model");
  Choice choice;
  choice.message.role = Role::assistant;
  const auto* content = root.array("content");
  if (!content) root.fail("content", "is missing");
  for (std::size_t i = 0; i < content->size(); ++i) {
    json::Fields block = root.element("content", *content, i);
    std::string type = block.str("type");
    if (type == "text") {
      choice.message.content += block.str("text");
    } else if (type == "tool_use") {
      choice.message.tool_calls.push_back({block.str("id"), "function", block.str("name"), input_text(block)});
    }
  }
  choice.finish_reason = finish_reason_from_anthropic(root.str("stop_reason"));
  r.choices.push_back(std::move(choice));
  if (auto u = root.object("usage")) read_usage(*u, r.usage);
  return r;
}

std::optional<ChatChunk> AnthropicStreamDecoder::on_event(std::string_view event, std::string_view data) {
  if (event == "ping") return std::nullopt;
  auto doc = json::parse(data, kStreamContext);
  json::Fields root = json::Fields::root(doc, kStreamContext);
  std::string type = root.str("type", std::string(event));
  ChatChunk chunk;
  if (type == "error") {
    auto err = root.object("error");
    std::string etype = err ? err->str("type") : "";
    std::string message = err ? err->str("message") : "";
    ErrorCode code = etype == "overloaded_error" ? ErrorCode::overloaded
                     : etype == "rate_limit_error" ? ErrorCode::rate_limited : ErrorCode::upstream;
    throw Error(code, "anthropic sent an error in the stream (" + core::printable(etype, 100) + "): " +
                          core::printable(message, 300));
  }
  if (type == "message_start") {
    auto msg = root.object("message");
    if (!msg) root.fail("message", "is missing");
    id_ = msg->str("id");
    model_ = msg->str("model");
    if (auto u = msg->object("usage")) read_usage(*u, usage_);
    chunk.delta_role = Role::assistant;
  } else if (type == "content_block_start") {
    auto block = root.object("content_block");
    if (!block) root.fail("content_block", "is missing");
    if (block->str("type") != "tool_use") return std::nullopt;
    if (next_tool_ >= 1024) root.fail("content_block", "starts more than 1024 tool calls");
    int tool = next_tool_++;
    tool_index_of_block_[root.int64("index")] = tool;
    chunk.tool_calls.push_back({tool, block->str("id"), block->str("name"), ""});
  } else if (type == "content_block_delta") {
    auto delta = root.object("delta");
    if (!delta) root.fail("delta", "is missing");
    std::string dtype = delta->str("type");
    if (dtype == "text_delta") {
      chunk.delta_content = delta->str("text");
    } else if (dtype == "input_json_delta") {
      auto it = tool_index_of_block_.find(root.int64("index"));
      if (it == tool_index_of_block_.end()) root.fail("index", "names no tool_use block");
      chunk.tool_calls.push_back({it->second, "", "", delta->str("partial_json")});
    } else {
      return std::nullopt;  // thinking/signature deltas are not surfaced
    }
  } else if (type == "message_delta") {
    if (auto delta = root.object("delta")) chunk.finish_reason = finish_reason_from_anthropic(delta->str("stop_reason"));
    if (auto u = root.object("usage")) read_usage(*u, usage_);
    chunk.usage = usage_;
  } else if (type == "message_stop") {
    finished_ = true;
    return std::nullopt;
  } else {
    return std::nullopt;  // content_block_stop and unknown future events
  }
  chunk.id = id_;
  chunk.model = model_;
  return chunk;
}

}  // namespace cnai::clients
