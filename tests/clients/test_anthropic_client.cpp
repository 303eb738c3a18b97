// Anthropic Messages mapping: request encoding, response decoding, and the
// streaming event decoder; client tests against the loopback server follow.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <atomic>

#include "clients/anthropic_codec.hpp"
#include "clients/chat_stream_assembler.hpp"
#include "cnai/clients/anthropic_client.hpp"
#include "cnai/clients/pricing.hpp"
#include "cnai/core/error.hpp"
#include "support/test_http_server.hpp"

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

// ---- AnthropicClient against the loopback server ------------------------------

namespace {

using namespace std::chrono_literals;
using cnai::test::TestHttpServer;
using cnai::test::TestRequest;
using cnai::test::TestResponse;

AnthropicOptions fast_anthropic(const TestHttpServer& server) {
  AnthropicOptions o;
  o.base_url = server.base_url() + "/v1";
  o.api_key = "ant-test";
  o.common.retries.initial_delay = 1ms;
  o.common.retries.max_delay = 4ms;
  o.common.timeouts.first_byte = 5s;
  o.common.timeouts.total = 10s;
  return o;
}

ChatRequest simple_request() {
  ChatRequest r;
  r.model = "claude-3-5-haiku-20241022";
  Message sys;
  sys.role = Role::system;
  sys.content = "Be brief.";
  Message user;
  user.content = "Hi";
  r.messages = {sys, user};
  return r;
}

std::string event(const std::string& name, const std::string& data) {
  return "event: " + name + "\ndata: " + data + "\n\n";
}

}  // namespace

TEST_CASE("AnthropicClient chat: headers, hoisted system, usage and cost") {
  TestHttpServer server;
  server.route("POST", "/v1/messages", [](const TestRequest&) {
    return TestResponse::json(R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022",
      "content":[{"type":"text","text":"Hello!"}],"stop_reason":"end_turn","usage":{"input_tokens":1000000,"output_tokens":1000000}})");
  });
  AnthropicClient client(fast_anthropic(server));
  ChatResponse r = client.chat(simple_request());
  CHECK(r.choices.at(0).message.content == "Hello!");
  CHECK(r.backend == "anthropic");
  auto price = PriceTable::with_defaults().find("claude-3-5-haiku");  // the options' default table
  REQUIRE(price);
  CHECK(r.usage.cost_usd == doctest::Approx(price->input_per_million + price->output_per_million));
  auto req = server.last_request();
  REQUIRE(req);
  CHECK(req->header("x-api-key") == "ant-test");
  CHECK(req->header("anthropic-version") == "2023-06-01");
  bj::value body = bj::parse(req->body);
  CHECK(body.at("system").as_string() == "Be brief.");
  CHECK(body.at("max_tokens").to_number<int>() == 1024);
  CHECK(body.at("messages").as_array().size() == 1);
}

TEST_CASE("AnthropicClient stream: text and tool_use assembled; truncation and 529 retries") {
  std::vector<std::string> events = {
      event("message_start", R"({"type":"message_start","message":{"id":"msg_s","model":"claude-sonnet-4-20250514","usage":{"input_tokens":12,"output_tokens":1}}})"),
      event("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"),
      event("ping", R"({"type":"ping"})"),
      event("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Sure"}})"),
      event("content_block_stop", R"({"type":"content_block_stop","index":0})"),
      event("content_block_start", R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}})"),
      event("content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"q\":"}})"),
      event("content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"1}"}})"),
      event("content_block_stop", R"({"type":"content_block_stop","index":1})"),
      event("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}})"),
      event("message_stop", R"({"type":"message_stop"})"),
  };
  TestHttpServer server;
  std::atomic<int> attempts{0};
  server.route("POST", "/v1/messages", [&](const TestRequest&) {
    if (attempts++ == 0) return TestResponse::json(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})", 529);
    return TestResponse::sse(events);
  });
  AnthropicClient client(fast_anthropic(server));
  std::string text;
  ChatResponse r = client.chat_stream(simple_request(), [&](const ChatChunk& c) {
    text += c.delta_content;
    return true;
  });
  CHECK(attempts == 2);
  CHECK(text == "Sure");
  REQUIRE(r.choices.at(0).message.tool_calls.size() == 1);
  CHECK(r.choices[0].message.tool_calls[0].arguments == R"({"q":1})");
  CHECK(r.choices[0].finish_reason == FinishReason::tool_calls);
  CHECK(r.usage.prompt_tokens == 12);
  CHECK(r.usage.completion_tokens == 9);
  CHECK(r.usage.cost_usd > 0);
  CHECK(bj::parse(server.last_request()->body).at("stream").as_bool());

  TestHttpServer truncated;
  truncated.route("POST", "/v1/messages", [&](const TestRequest&) {
    return TestResponse::sse({events[0], events[1], events[3]});
  });
  AnthropicClient c2(fast_anthropic(truncated));
  try {
    c2.chat_stream(simple_request(), [](const ChatChunk&) { return true; });
    FAIL("expected error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::upstream);
    CHECK(std::string(e.what()).find("message_stop") != std::string::npos);
  }

  TestHttpServer overloaded;
  std::atomic<int> n{0};
  overloaded.route("POST", "/v1/messages", [&](const TestRequest&) {
    ++n;
    return TestResponse::json(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})", 529);
  });
  AnthropicClient c3(fast_anthropic(overloaded));
  try {
    c3.chat(simple_request());
    FAIL("expected error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::overloaded);
    CHECK(e.upstream_status() == 529);
    CHECK(e.upstream_message() == "Overloaded");
  }
  CHECK(n == 3);
}

TEST_CASE("AnthropicClient: in-band error event after content is not retried") {
  TestHttpServer server;
  std::atomic<int> attempts{0};
  server.route("POST", "/v1/messages", [&](const TestRequest&) {
    ++attempts;
    return TestResponse::sse({event("message_start", R"({"type":"message_start","message":{"id":"m","model":"claude-3-5-haiku-20241022","usage":{"input_tokens":1}}})"),
                              event("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"par"}})"),
                              event("error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})")});
  });
  AnthropicClient client(fast_anthropic(server));
  std::string text;
  try {
    client.chat_stream(simple_request(), [&](const ChatChunk& c) {
      text += c.delta_content;
      return true;
    });
    FAIL("expected error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::overloaded);
  }
  CHECK(text == "par");
  CHECK(attempts == 1);
}

TEST_CASE("AnthropicOptions::from_env") {
  setenv("ANTHROPIC_API_KEY", "k-env", 1);
  setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9", 1);
  AnthropicOptions o = AnthropicOptions::from_env();
  CHECK(o.api_key == "k-env");
  CHECK(o.base_url == "http://127.0.0.1:9");
  unsetenv("ANTHROPIC_API_KEY");
  unsetenv("ANTHROPIC_BASE_URL");
  CHECK(AnthropicOptions::from_env().base_url == "https://api.anthropic.com/v1");
}

TEST_CASE("The base URL reaches /v1/messages with or without /v1, from the environment or an option") {
  TestHttpServer server;
  server.route("POST", "/v1/messages", [](const TestRequest&) {
    return TestResponse::json(R"({"id":"m","model":"claude-3-5-haiku","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn"})");
  });
  for (const std::string suffix : {"", "/", "/v1", "/v1/"}) {
    CAPTURE(suffix);
    AnthropicOptions flag = fast_anthropic(server);
    flag.base_url = server.base_url() + suffix;  // as `cnai run --base-url` passes it
    CHECK(AnthropicClient(flag).chat(simple_request()).choices.at(0).message.content == "ok");
    setenv("ANTHROPIC_BASE_URL", (server.base_url() + suffix).c_str(), 1);
    AnthropicOptions env = AnthropicOptions::from_env();
    unsetenv("ANTHROPIC_BASE_URL");
    env.common = flag.common;
    CHECK(AnthropicClient(env).chat(simple_request()).choices.at(0).message.content == "ok");
  }
  CHECK(server.requests_handled() == 8);  // one request per call: nothing retried or redirected
}
