// ChatChunk -> chat.completion.chunk JSON and the SSE framing of a stream;
// Error -> the OpenAI error body and HTTP status (for servers).
#include <boost/json.hpp>

#include "api/json_fields.hpp"
#include "cnai/api/json.hpp"
#include "cnai/api/openai_sse.hpp"

namespace cnai {
namespace {

namespace bj = boost::json;

bj::object usage_object(const Usage& u) {
  bj::object o{{"prompt_tokens", u.prompt_tokens},
               {"completion_tokens", u.completion_tokens},
               {"total_tokens", u.total_tokens}};
  if (u.cached_prompt_tokens > 0) o["prompt_tokens_details"] = bj::object{{"cached_tokens", u.cached_prompt_tokens}};
  return o;
}

bj::object delta_object(const ChatChunk& c) {
  bj::object delta;
  if (c.delta_role) delta["role"] = std::string(to_string(*c.delta_role));
  if (!c.delta_content.empty() || (c.tool_calls.empty() && c.delta_role)) delta["content"] = c.delta_content;
  if (!c.tool_calls.empty()) {
    bj::array calls;
    for (const auto& t : c.tool_calls) {
      bj::object call{{"index", t.index}};
      if (!t.id.empty()) {
        call["id"] = t.id;
        call["type"] = "function";
      }
      bj::object fn{{"arguments", t.arguments}};
      if (!t.name.empty()) fn["name"] = t.name;
      call["function"] = std::move(fn);
      calls.push_back(std::move(call));
    }
    delta["tool_calls"] = std::move(calls);
  }
  return delta;
}

bj::object chunk_object(const ChatChunk& c, std::int64_t created, bool with_choice) {
  bj::array choices;
  if (with_choice) {
    bj::value finish = c.finish_reason == FinishReason::none ? bj::value(nullptr)
                                                             : bj::value(bj::string(to_string(c.finish_reason)));
    choices.push_back(bj::object{{"index", c.index}, {"delta", delta_object(c)}, {"logprobs", nullptr},
                                 {"finish_reason", std::move(finish)}});
  }
  return bj::object{{"id", c.id}, {"object", "chat.completion.chunk"}, {"created", created},
                    {"model", c.model}, {"choices", std::move(choices)}};
}

std::string data_event(const bj::object& o) { return "data: " + json::dump(o) + "\n\n"; }

std::string_view error_type(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
    case ErrorCode::unsupported:
    case ErrorCode::context_overflow:
    case ErrorCode::not_found: return "invalid_request_error";
    case ErrorCode::unauthorized: return "authentication_error";
    case ErrorCode::rate_limited: return "rate_limit_error";
    case ErrorCode::budget_exceeded: return "insufficient_quota";
    default: return "server_error";
  }
}

}  // namespace

std::string to_openai_json(const ChatChunk& chunk, std::int64_t created) {
  bj::object o = chunk_object(chunk, created, true);
  if (chunk.usage) o["usage"] = usage_object(*chunk.usage);
  return json::dump(o);
}

int http_status_for(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument:
    case ErrorCode::unsupported:
    case ErrorCode::context_overflow: return 400;
    case ErrorCode::unauthorized: return 401;
    case ErrorCode::not_found: return 404;
    case ErrorCode::rate_limited:
    case ErrorCode::budget_exceeded: return 429;
    case ErrorCode::cancelled: return 499;  // the client went away (nginx's convention)
    case ErrorCode::upstream: return 502;
    case ErrorCode::unavailable:
    case ErrorCode::overloaded:
    case ErrorCode::out_of_memory: return 503;
    case ErrorCode::timeout: return 504;
    case ErrorCode::model_format:
    case ErrorCode::internal: return 500;
  }
  return 500;
}

std::string openai_error_json(const Error& e) {
  // OpenAI clients look for code "context_length_exceeded" by that name.
  const std::string code = e.code() == ErrorCode::context_overflow ? "context_length_exceeded" : std::string(to_string(e.code()));
  return json::dump(bj::object{{"error", bj::object{{"message", e.what()},
                                                    {"type", error_type(e.code())},
                                                    {"param", nullptr},
                                                    {"code", code}}}});
}

OpenAiSseWriter::OpenAiSseWriter(Options options) : options_(std::move(options)) {}

std::string OpenAiSseWriter::chunk(const ChatChunk& c) {
  bj::object o = chunk_object(c, options_.created, true);
  if (!options_.include_usage) return data_event(o);
  // As OpenAI streams with include_usage: "usage": null on every chunk, then
  // one more chunk with no choices and the usage.
  o["usage"] = nullptr;
  std::string out = data_event(o);
  if (c.usage) {
    bj::object last = chunk_object(c, options_.created, false);
    last["usage"] = usage_object(*c.usage);
    out += data_event(last);
  }
  return out;
}

std::string OpenAiSseWriter::done() const { return "data: [DONE]\n\n"; }

std::string OpenAiSseWriter::error(const Error& e) const { return "data: " + openai_error_json(e) + "\n\n"; }

}  // namespace cnai
