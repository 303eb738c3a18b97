// libFuzzer target: the server's Anthropic Messages decoder on arbitrary
// bytes, then the encoders on what it decoded (a message and its SSE events
// carrying the decoded text and tool calls, whose arguments are arbitrary),
// and the error-shape rewriter on the bytes as a reply body. cnai::Error is
// fine, a crash is not; every encoded message and event must parse as JSON.
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cnai/core/error.hpp"
#include "server/anthropic_messages.hpp"

namespace {

void must_parse(std::string_view json) {
  boost::system::error_code ec;
  (void)boost::json::parse(json, ec);
  if (ec) __builtin_trap();
}

// Each "data: ..." line of an event stream parses.
void events_parse(const std::string& events) {
  for (std::size_t p = events.find("data: "); p != std::string::npos; p = events.find("data: ", p + 1)) {
    must_parse(std::string_view(events).substr(p + 6, events.find('\n', p) - p - 6));
  }
}

void encode(const cnai::ChatRequest& r) {
  cnai::ChatResponse resp;
  resp.model = r.model;
  cnai::Choice choice;
  for (const cnai::Message& m : r.messages) {
    choice.message.content += m.content;
    for (const cnai::ToolCall& t : m.tool_calls) choice.message.tool_calls.push_back(t);
  }
  choice.finish_reason = choice.message.tool_calls.empty() ? cnai::FinishReason::stop : cnai::FinishReason::tool_calls;
  resp.choices.push_back(choice);
  must_parse(cnai::server::anthropic_message_json(resp, "msg_fuzz"));
  cnai::server::AnthropicSseWriter w("msg_fuzz", r.model);
  std::string events;
  cnai::ChatChunk text;
  text.delta_content = choice.message.content;
  events += w.chunk(text);
  for (std::size_t i = 0; i < choice.message.tool_calls.size(); ++i) {
    cnai::ChatChunk c;
    const cnai::ToolCall& t = choice.message.tool_calls[i];
    c.tool_calls.push_back({static_cast<int>(i), t.id, t.name, t.arguments});
    events += w.chunk(c);
  }
  events += w.finish(resp);
  events_parse(events);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    encode(cnai::server::chat_request_from_anthropic_json(body));
  } catch (const cnai::Error&) {
  }
  cnai::server::HttpReply reply;
  reply.status = 400 + static_cast<int>(size % 200);
  reply.body = std::string(body);
  cnai::server::to_anthropic_error(reply);
  must_parse(reply.body);
  return 0;
}
