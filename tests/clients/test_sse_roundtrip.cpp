// The server-side stream encoder (OpenAiSseWriter) against the client-side
// decoder: a loopback server streams what the writer wrote, OpenAiClient reads
// it, and the caller gets back the chunks and the response that went in.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cnai/api/openai_sse.hpp"
#include "cnai/clients/openai_client.hpp"
#include "cnai/core/error.hpp"
#include "support/test_http_server.hpp"

using namespace cnai;
using namespace std::chrono_literals;
using cnai::test::TestHttpServer;
using cnai::test::TestRequest;
using cnai::test::TestResponse;

namespace {

std::vector<ChatChunk> source_chunks() {
  std::vector<ChatChunk> chunks(5);
  for (auto& c : chunks) {
    c.id = "chatcmpl-rt";
    c.model = "rt-model";
  }
  chunks[0].delta_role = Role::assistant;
  chunks[1].delta_content = "The capital ";
  chunks[2].delta_content = "is Paris.";
  chunks[3].tool_calls = {{0, "call_1", "note", R"({"city":)"}};
  chunks[4].tool_calls = {{0, "", "", R"("Paris"})"}};
  chunks[4].finish_reason = FinishReason::tool_calls;
  chunks[4].usage = Usage{21, 9, 30, 0, 0};
  return chunks;
}

OpenAiOptions options_for(const TestHttpServer& server) {
  OpenAiOptions o;
  o.base_url = server.base_url() + "/v1";
  o.common.retries.max_retries = 0;
  o.common.timeouts.total = 10s;
  return o;
}

ChatRequest request() {
  ChatRequest r;
  r.model = "rt-model";
  r.messages = {Message::user("Capital of France?")};
  return r;
}

}  // namespace

TEST_CASE("What OpenAiSseWriter writes, OpenAiClient reads back (with include_usage)") {
  const std::vector<ChatChunk> source = source_chunks();
  OpenAiSseWriter writer({.include_usage = true, .created = 1700000000});
  std::vector<std::string> events;
  for (const auto& c : source) events.push_back(writer.chunk(c));
  events.push_back(writer.done());

  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [&](const TestRequest&) { return TestResponse::sse(events); });
  OpenAiClient client(options_for(server));
  std::vector<ChatChunk> received;
  const ChatResponse r = client.chat_stream(request(), [&](const ChatChunk& c) {
    received.push_back(c);
    return true;
  });

  // One more chunk than went in: the usage-only chunk include_usage adds.
  REQUIRE(received.size() == source.size() + 1);
  for (std::size_t i = 0; i < source.size(); ++i) {
    CAPTURE(i);
    CHECK(received[i].id == source[i].id);
    CHECK(received[i].delta_role == source[i].delta_role);
    CHECK(received[i].delta_content == source[i].delta_content);
    CHECK(received[i].finish_reason == source[i].finish_reason);
    REQUIRE(received[i].tool_calls.size() == source[i].tool_calls.size());
    CHECK_FALSE(received[i].usage.has_value());  // "usage": null on every choice chunk
  }
  REQUIRE(received.back().usage);
  CHECK(received.back().usage->completion_tokens == 9);

  REQUIRE(r.choices.size() == 1);
  CHECK(r.choices[0].message.content == "The capital is Paris.");
  REQUIRE(r.choices[0].message.tool_calls.size() == 1);
  CHECK(r.choices[0].message.tool_calls[0].id == "call_1");
  CHECK(r.choices[0].message.tool_calls[0].name == "note");
  CHECK(r.choices[0].message.tool_calls[0].arguments == R"({"city":"Paris"})");
  CHECK(r.choices[0].finish_reason == FinishReason::tool_calls);
  CHECK(r.usage.prompt_tokens == 21);
  CHECK(r.usage.total_tokens == 30);
  CHECK(r.id == "chatcmpl-rt");
  CHECK(r.model == "rt-model");
}

TEST_CASE("An error event from OpenAiSseWriter reaches the caller with its code") {
  OpenAiSseWriter writer({.include_usage = false, .created = 1});
  const std::vector<ChatChunk> source = source_chunks();
  const std::vector<std::string> events = {writer.chunk(source[0]), writer.chunk(source[1]),
                                           writer.error(Error(ErrorCode::overloaded, "the engine's queue is full"))};
  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [&](const TestRequest&) { return TestResponse::sse(events); });
  OpenAiClient client(options_for(server));
  try {
    client.chat_stream(request(), [](const ChatChunk&) { return true; });
    FAIL("expected the in-stream error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::overloaded);
    CHECK(std::string(e.what()).find("the engine's queue is full") != std::string::npos);
  }
}
