// Anthropic Messages mapping: request encoding, response decoding, and the
// streaming event decoder; client tests against the loopback server follow.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "clients/anthropic_codec.hpp"
#include "clients/chat_stream_assembler.hpp"
#include "cnai/core/error.hpp"

namespace bj = boost::json;
using namespace cnai;

namespace {

ChatRequest tool_conversation() {
  ChatRequest r;
  r.model = "claude-3-5-haiku-latest";
  Message sys;
  sys.role = Role::system;
  sys.content = "You are terse.";
  r.messages.push_back(sys);
  Message user;
  user.content = "Weather in Oslo and Rome?";
  r.messages.push_back(user);
  Message call;
  call.role = Role::assistant;
  call.content = "Checking.";
  call.tool_calls.push_back({"toolu_1", "function", "get_weather", R"({"city":"Oslo"})"});
  call.tool_calls.push_back({"toolu_2", "function", "get_weather", R"({"city":"Rome"})"});
  r.messages.push_back(call);
  Message res1;
  res1.role = Role::tool;
  res1.tool_call_id = "toolu_1";
  res1.content = "5C";
  Message res2 = res1;
  res2.tool_call_id = "toolu_2";
  res2.content = "20C";
  r.messages.push_back(res1);
  r.messages.push_back(res2);
  r.tools.push_back({"function", "get_weather", "Weather", R"({"type":"object"})"});
  r.tool_choice = "required";
  r.stop = {"END"};
  r.sampling.top_k = 5;
  return r;
}

}  // namespace

TEST_CASE("Anthropic request: system hoisted, tool_use/tool_result blocks, merged turns, max_tokens default") {
  bj::value v = bj::parse(clients::to_anthropic_json(tool_conversation()));
  CHECK(v.at("system").as_string() == "You are terse.");
  CHECK(v.at("max_tokens").to_number<int>() == 1024);
  CHECK(v.at("top_k").to_number<int>() == 5);
  CHECK(v.at("stop_sequences").as_array()[0].as_string() == "END");
  CHECK(v.at("tool_choice").at("type").as_string() == "any");
  CHECK(v.at("tools").as_array()[0].at("input_schema").at("type").as_string() == "object");
  const auto& msgs = v.at("messages").as_array();
  REQUIRE(msgs.size() == 3);  // user, assistant, user(tool results merged)
  CHECK(msgs[0].at("role").as_string() == "user");
  const auto& assistant = msgs[1].at("content").as_array();
  REQUIRE(assistant.size() == 3);
  CHECK(assistant[0].at("type").as_string() == "text");
  CHECK(assistant[1].at("type").as_string() == "tool_use");
  CHECK(assistant[1].at("input").at("city").as_string() == "Oslo");
  const auto& results = msgs[2].at("content").as_array();
  REQUIRE(results.size() == 2);
  CHECK(results[0].at("type").as_string() == "tool_result");
  CHECK(results[1].at("tool_use_id").as_string() == "toolu_2");
  CHECK(results[1].at("content").as_string() == "20C");

  ChatRequest r = tool_conversation();
  r.max_tokens = 77;
  CHECK(bj::parse(clients::to_anthropic_json(r)).at("max_tokens").to_number<int>() == 77);
}

TEST_CASE("Anthropic response: text + tool_use blocks, stop reason, usage incl. cache reads") {
  auto r = clients::chat_response_from_anthropic_json(R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022",
    "content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_9","name":"get_weather","input":{"city":"Oslo"}}],
    "stop_reason":"tool_use","usage":{"input_tokens":30,"cache_read_input_tokens":10,"output_tokens":12}})");
  CHECK(r.id == "msg_1");
  CHECK(r.choices[0].message.content == "Let me check.");
  REQUIRE(r.choices[0].message.tool_calls.size() == 1);
  CHECK(bj::parse(r.choices[0].message.tool_calls[0].arguments).at("city").as_string() == "Oslo");
  CHECK(r.choices[0].finish_reason == FinishReason::tool_calls);
  CHECK(r.usage.prompt_tokens == 40);
  CHECK(r.usage.cached_prompt_tokens == 10);
  CHECK(r.usage.completion_tokens == 12);
  CHECK(r.usage.total_tokens == 52);
  CHECK(clients::finish_reason_from_anthropic("max_tokens") == FinishReason::length);
  CHECK(clients::finish_reason_from_anthropic("end_turn") == FinishReason::stop);
  try {
    clients::chat_response_from_anthropic_json(R"({"content":[{"type":"text","text":7}]})");
    FAIL("expected error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::upstream);
    CHECK(std::string(e.what()).find("content[0].text") != std::string::npos);
  }
}

TEST_CASE("Anthropic stream events decode and assemble") {
  const std::pair<const char*, const char*> events[] = {
      {"message_start", R"({"type":"message_start","message":{"id":"msg_s","model":"claude-sonnet-4-20250514","usage":{"input_tokens":25,"output_tokens":1}}})"},
      {"content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"},
      {"ping", R"({"type":"ping"})"},
      {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})"},
      {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there"}})"},
      {"content_block_stop", R"({"type":"content_block_stop","index":0})"},
      {"content_block_start", R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_x","name":"f","input":{}}})"},
      {"content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}})"},
      {"content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"[1,2]}"}})"},
      {"content_block_stop", R"({"type":"content_block_stop","index":1})"},
      {"message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":15}})"},
  };
  clients::AnthropicStreamDecoder d;
  clients::ChatStreamAssembler a;
  for (const auto& [ev, data] : events) {
    if (auto c = d.on_event(ev, data)) a.add(*c);
  }
  CHECK_FALSE(d.finished());
  CHECK_FALSE(d.on_event("message_stop", R"({"type":"message_stop"})"));
  CHECK(d.finished());
  ChatResponse r = a.take();
  CHECK(r.id == "msg_s");
  CHECK(r.choices[0].message.content == "Hi there");
  REQUIRE(r.choices[0].message.tool_calls.size() == 1);
  CHECK(r.choices[0].message.tool_calls[0].id == "toolu_x");
  CHECK(r.choices[0].message.tool_calls[0].arguments == R"({"a":[1,2]})");
  CHECK(r.choices[0].finish_reason == FinishReason::tool_calls);
  CHECK(r.usage.prompt_tokens == 25);
  CHECK(r.usage.completion_tokens == 15);
}

TEST_CASE("Anthropic stream error events and bad deltas throw") {
  clients::AnthropicStreamDecoder d;
  try {
    d.on_event("error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
    FAIL("expected error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::overloaded);
    CHECK(std::string(e.what()).find("Overloaded") != std::string::npos);
  }
  CHECK_THROWS_AS(d.on_event("content_block_delta", R"({"type":"content_block_delta","index":4,"delta":{"type":"input_json_delta","partial_json":"x"}})"),
                  Error);
  CHECK_THROWS_AS(d.on_event("message_start", "{oops"), Error);
}
