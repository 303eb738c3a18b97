// The Backend contract shared by every implementation: request checks done
// once in the base class (named fields, stream=true refused by chat()), a
// stop token already requested, and embeddings unsupported by default.
#include <doctest/doctest.h>

#include <atomic>
#include <stop_token>
#include <string>

#include "cnai/api/backend.hpp"

using namespace cnai;

namespace {

// A backend that answers with a fixed text and counts calls, to observe what
// reaches the implementation.
class EchoBackend final : public Backend {
 public:
  const std::string& name() const noexcept override { return name_; }
  BackendCapabilities capabilities() const override { return {}; }
  std::atomic<int> calls{0};

 protected:
  ChatResponse do_chat(const ChatRequest& r, std::stop_token) override {
    ++calls;
    ChatResponse out;
    out.choices.emplace_back().message.content = r.messages.back().content;
    return out;
  }
  ChatResponse do_chat_stream(const ChatRequest& r, const ChunkCallback&, std::stop_token s) override {
    return do_chat(r, s);
  }

 private:
  std::string name_ = "echo";
};

ChatRequest hello() {
  ChatRequest r;
  r.messages = {Message::user("hello")};
  return r;
}

std::string error_of(const std::function<void()>& f, ErrorCode want) {
  try {
    f();
  } catch (const Error& e) {
    CHECK(e.code() == want);
    return e.what();
  }
  FAIL("expected a cnai::Error");
  return {};
}

}  // namespace

TEST_CASE("chat() runs the implementation for a valid request") {
  EchoBackend b;
  CHECK(b.chat(hello()).choices.at(0).message.content == "hello");
  CHECK(b.calls == 1);
}

TEST_CASE("out-of-range sampling values are refused with the field named, before the implementation runs") {
  EchoBackend b;
  struct Case {
    const char* field;
    std::function<void(ChatRequest&)> set;
  };
  const Case cases[] = {
      {"temperature", [](ChatRequest& r) { r.sampling.temperature = -1.0f; }},
      {"temperature", [](ChatRequest& r) { r.sampling.temperature = 2.5f; }},
      {"temperature", [](ChatRequest& r) { r.sampling.temperature = std::numeric_limits<float>::quiet_NaN(); }},
      {"top_p", [](ChatRequest& r) { r.sampling.top_p = 1.5f; }},
      {"top_k", [](ChatRequest& r) { r.sampling.top_k = -3; }},
      {"min_p", [](ChatRequest& r) { r.sampling.min_p = -0.1f; }},
      {"frequency_penalty", [](ChatRequest& r) { r.sampling.frequency_penalty = 3.0f; }},
      {"presence_penalty", [](ChatRequest& r) { r.sampling.presence_penalty = -2.5f; }},
      {"repetition_penalty", [](ChatRequest& r) { r.sampling.repetition_penalty = 0.0f; }},
      {"logit_bias", [](ChatRequest& r) { r.sampling.logit_bias[5] = 101.0f; }},
      {"max_tokens", [](ChatRequest& r) { r.max_tokens = 0; }},
      {"stop[1]", [](ChatRequest& r) { r.stop = {"ok", ""}; }},
      {"messages", [](ChatRequest& r) { r.messages.clear(); }},
  };
  for (const Case& c : cases) {
    CAPTURE(c.field);
    ChatRequest r = hello();
    c.set(r);
    const std::string msg = error_of([&] { b.chat(r); }, ErrorCode::invalid_argument);
    CHECK(msg.find(c.field) != std::string::npos);
    error_of([&] { b.chat_stream(r, [](const ChatChunk&) { return true; }); }, ErrorCode::invalid_argument);
  }
  CHECK(b.calls == 0);
}

TEST_CASE("boundary values are accepted") {
  EchoBackend b;
  ChatRequest r = hello();
  r.sampling.temperature = 0.0f;
  r.sampling.top_p = 1.0f;
  r.sampling.top_k = 0;
  r.sampling.frequency_penalty = -2.0f;
  r.sampling.logit_bias[1] = -100.0f;
  r.max_tokens = 1;
  CHECK_NOTHROW(b.chat(r));
  r.sampling.temperature = 2.0f;
  CHECK_NOTHROW(b.chat(r));
}

TEST_CASE("stream = true passed to chat() asks for chat_stream") {
  EchoBackend b;
  ChatRequest r = hello();
  r.stream = true;
  CHECK(error_of([&] { b.chat(r); }, ErrorCode::invalid_argument).find("stream") != std::string::npos);
  CHECK_NOTHROW(b.chat_stream(r, [](const ChatChunk&) { return true; }));
  CHECK(b.calls == 1);
}

TEST_CASE("a stop token requested before the call cancels it without running it") {
  EchoBackend b;
  std::stop_source src;
  src.request_stop();
  error_of([&] { b.chat(hello(), src.get_token()); }, ErrorCode::cancelled);
  error_of([&] { b.chat_stream(hello(), {}, src.get_token()); }, ErrorCode::cancelled);
  CHECK(b.calls == 0);
}

TEST_CASE("embeddings: unsupported by default; empty inputs refused first") {
  EchoBackend b;
  EmbeddingRequest e;
  CHECK(error_of([&] { b.embeddings(e); }, ErrorCode::invalid_argument).find("input") != std::string::npos);
  e.input = {"a", ""};
  CHECK(error_of([&] { b.embeddings(e); }, ErrorCode::invalid_argument).find("input[1]") != std::string::npos);
  e.input = {"a"};
  e.encoding_format = "int8";
  CHECK(error_of([&] { b.embeddings(e); }, ErrorCode::invalid_argument).find("encoding_format") != std::string::npos);
  e.encoding_format = "float";
  CHECK(error_of([&] { b.embeddings(e); }, ErrorCode::unsupported).find("echo") != std::string::npos);
}

TEST_CASE("health status names") {
  CHECK(to_string(HealthStatus::healthy) == "healthy");
  CHECK(to_string(HealthStatus::degraded) == "degraded");
  CHECK(to_string(HealthStatus::unavailable) == "unavailable");
}
