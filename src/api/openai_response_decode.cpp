// OpenAI Chat Completions response and stream-chunk bodies -> shared types.
#include "api/json_fields.hpp"
#include "cnai/api/json.hpp"
#include "cnai/core/error.hpp"
#include "core/printable.hpp"

namespace cnai {
namespace {

constexpr std::string_view kResponseContext = "OpenAI chat response";
constexpr std::string_view kChunkContext = "OpenAI chat chunk";
// Choice and tool-call indices: checked before narrowing to int, and small
// enough that the stream assembler's vector of calls stays small.
constexpr std::int64_t kMaxIndex = 1024;

Role role_from_string(const json::Fields& f, std::string_view key, const std::string& s) {
  if (s == "assistant") return Role::assistant;
  if (s == "user") return Role::user;
  if (s == "system") return Role::system;
  if (s == "developer") return Role::developer;
  if (s == "tool") return Role::tool;
  f.fail(key, "has unknown role '" + core::printable(s, 40) + "'");
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
  usage.prompt_tokens = u.count("prompt_tokens");
  usage.completion_tokens = u.count("completion_tokens");
  usage.total_tokens = u.count("total_tokens", usage.prompt_tokens + usage.completion_tokens);
  if (auto details = u.object("prompt_tokens_details")) usage.cached_prompt_tokens = details->count("cached_tokens");
  return usage;
}

std::vector<std::int32_t> read_token_ids(const json::Fields& c) {
  std::vector<std::int32_t> ids;
  const auto* arr = c.array("token_ids");
  for (std::size_t i = 0; arr && i < arr->size(); ++i) {
    boost::system::error_code ec;
    const auto id = (*arr)[i].to_number<std::int32_t>(ec);
    if (ec) c.fail("token_ids[" + std::to_string(i) + "]", "expected a 32-bit integer");
    ids.push_back(id);
  }
  return ids;
}

// The "cnai" object a cnai server adds: backend, cost and timings.
void read_cnai_extras(const json::Fields& root, ChatResponse& r) {
  auto x = root.object("cnai");
  if (!x) return;
  r.backend = x->str("backend");
  r.usage.cost_usd = x->opt_double("cost_usd").value_or(0.0);
  if (auto t = x->object("timings")) {
    r.timings.time_to_first_token_ms = t->opt_double("time_to_first_token_ms").value_or(0.0);
    r.timings.total_ms = t->opt_double("total_ms").value_or(0.0);
    r.timings.queue_ms = t->opt_double("queue_ms").value_or(0.0);
    r.timings.prompt_tokens_per_s = t->opt_double("prompt_tokens_per_s").value_or(0.0);
    r.timings.completion_tokens_per_s = t->opt_double("completion_tokens_per_s").value_or(0.0);
  }
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
    choice.index = static_cast<int>(c.int_in("index", 0, kMaxIndex, static_cast<std::int64_t>(i)));
    choice.finish_reason = read_finish(c);
    choice.message.role = Role::assistant;
    if (auto m = c.object("message")) {
      if (auto role = m->opt_str("role")) choice.message.role = role_from_string(*m, "role", *role);
      choice.message.content = read_content(*m);
      choice.message.tool_calls = read_tool_calls(*m);
    }
    choice.token_ids = read_token_ids(c);
    r.choices.push_back(std::move(choice));
  }
  if (auto u = root.object("usage")) r.usage = read_usage(*u);
  read_cnai_extras(root, r);
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
  chunk.index = static_cast<int>(c.int_in("index", 0, kMaxIndex));
  chunk.finish_reason = read_finish(c);
  auto delta = c.object("delta");
  if (!delta) return chunk;
  if (auto role = delta->opt_str("role")) chunk.delta_role = role_from_string(*delta, "role", *role);
  chunk.delta_content = read_content(*delta);
  if (const auto* calls = delta->array("tool_calls")) {
    for (std::size_t i = 0; i < calls->size(); ++i) {
      json::Fields tc = delta->element("tool_calls", *calls, i);
      ChatChunk::ToolCallDelta d;
      d.index = static_cast<int>(tc.int_in("index", 0, kMaxIndex, static_cast<std::int64_t>(i)));
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
