// OpenAI Chat Completions response and stream-chunk bodies -> shared types.
#include "api/json_fields.hpp"
#include "cnai/api/json.hpp"
#include "cnai/core/error.hpp"

namespace cnai {
namespace {

constexpr std::string_view kResponseContext = "OpenAI chat response";
constexpr std::string_view kChunkContext = "OpenAI chat chunk";

Role role_from_string(const json::Fields& f, std::string_view key, const std::string& s) {
  if (s == "assistant") return Role::assistant;
  if (s == "user") return Role::user;
  if (s == "system") return Role::system;
  if (s == "developer") return Role::developer;
  if (s == "tool") return Role::tool;
  f.fail(key, "has unknown role '" + s.substr(0, 40) + "'");
}

/// content is a string, null, or (some compatible servers) an array of text parts.
std::string read_content(const json::Fields& m) {
  const auto* v = m.raw("content");
  if (!v) return {};
  if (v->is_string()) return std::string(v->get_string());
  const auto* parts = v->if_array();
  if (!parts) m.fail("content", "expected a string, null or an array of parts");
  std::string text;
  for (std::size_t i = 0; i < parts->size(); ++i) text += m.element("content", *parts, i).str("text");
  return text;
}

std::vector<ToolCall> read_tool_calls(const json::Fields& m) {
  std::vector<ToolCall> calls;
  const auto* arr = m.array("tool_calls");
  if (!arr) return calls;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    json::Fields c = m.element("tool_calls", *arr, i);
    ToolCall call;
    call.id = c.str("id");
    call.type = c.str("type", "function");
    if (auto fn = c.object("function")) {
      call.name = fn->str("name");
      call.arguments = fn->str("arguments");
    }
    calls.push_back(std::move(call));
  }
  return calls;
}

Usage read_usage(const json::Fields& u) {
  Usage usage;
  usage.prompt_tokens = u.int64("prompt_tokens");
  usage.completion_tokens = u.int64("completion_tokens");
  usage.total_tokens = u.int64("total_tokens", usage.prompt_tokens + usage.completion_tokens);
  if (auto details = u.object("prompt_tokens_details")) usage.cached_prompt_tokens = details->int64("cached_tokens");
  return usage;
}

FinishReason read_finish(const json::Fields& c) {
  auto s = c.opt_str("finish_reason");
  return s ? finish_reason_from_string(*s) : FinishReason::none;
}

}  // namespace

FinishReason finish_reason_from_string(std::string_view s) noexcept {
  if (s == "stop") return FinishReason::stop;
  if (s == "length") return FinishReason::length;
  if (s == "tool_calls" || s == "function_call") return FinishReason::tool_calls;
  if (s == "content_filter") return FinishReason::content_filter;
  if (s.empty()) return FinishReason::none;
  return FinishReason::stop;
}

ChatResponse chat_response_from_openai_json(std::string_view body) {
  auto doc = json::parse(body, kResponseContext);
  json::Fields root = json::Fields::root(doc, kResponseContext);
  ChatResponse r;
  r.id = root.str("id");
  r.model = root.str("model");
  r.created = root.int64("created");
  const auto* choices = root.array("choices");
  if (!choices) root.fail("choices", "is missing");
  for (std::size_t i = 0; i < choices->size(); ++i) {
    json::Fields c = root.element("choices", *choices, i);
    Choice choice;
    choice.index = static_cast<int>(c.int64("index", static_cast<std::int64_t>(i)));
    choice.finish_reason = read_finish(c);
    choice.message.role = Role::assistant;
    if (auto m = c.object("message")) {
      if (auto role = m->opt_str("role")) choice.message.role = role_from_string(*m, "role", *role);
      choice.message.content = read_content(*m);
      choice.message.tool_calls = read_tool_calls(*m);
    }
    r.choices.push_back(std::move(choice));
  }
  if (auto u = root.object("usage")) r.usage = read_usage(*u);
  return r;
}

ChatChunk chat_chunk_from_openai_json(std::string_view body) {
  auto doc = json::parse(body, kChunkContext);
  json::Fields root = json::Fields::root(doc, kChunkContext);
  ChatChunk chunk;
  chunk.id = root.str("id");
  chunk.model = root.str("model");
  if (auto u = root.object("usage")) chunk.usage = read_usage(*u);
  const auto* choices = root.array("choices");
  if (!choices || choices->empty()) return chunk;
  json::Fields c = root.element("choices", *choices, 0);
  chunk.index = static_cast<int>(c.int64("index"));
  chunk.finish_reason = read_finish(c);
  auto delta = c.object("delta");
  if (!delta) return chunk;
  if (auto role = delta->opt_str("role")) chunk.delta_role = role_from_string(*delta, "role", *role);
  chunk.delta_content = read_content(*delta);
  if (const auto* calls = delta->array("tool_calls")) {
    for (std::size_t i = 0; i < calls->size(); ++i) {
      json::Fields tc = delta->element("tool_calls", *calls, i);
      ChatChunk::ToolCallDelta d;
      d.index = static_cast<int>(tc.int64("index", static_cast<std::int64_t>(i)));
      if (d.index < 0 || d.index > 1024) tc.fail("index", "is out of range [0, 1024]");
      d.id = tc.str("id");
      if (auto fn = tc.object("function")) {
        d.name = fn->str("name");
        d.arguments = fn->str("arguments");
      }
      chunk.tool_calls.push_back(std::move(d));
    }
  }
  return chunk;
}

}  // namespace cnai
