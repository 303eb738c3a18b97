// A "cloud" for router tests: the clients' loopback TestHttpServer speaking
// Chat Completions (plain and SSE), with a behaviour the test can change while
// requests run, and a count of the chat requests it received.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cnai/clients/openai_client.hpp"
#include "support/test_http_server.hpp"

namespace cnai::test {

inline std::string chat_body(const std::string& text, int prompt_tokens = 3, int completion_tokens = 2) {
  return R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m",)"
         R"("choices":[{"index":0,"message":{"role":"assistant","content":")" + text +
         R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":)" + std::to_string(prompt_tokens) +
         R"(,"completion_tokens":)" + std::to_string(completion_tokens) + R"(,"total_tokens":)" +
         std::to_string(prompt_tokens + completion_tokens) + "}}";
}

inline std::string sse_event(const std::string& json) { return "data: " + json + "\n\n"; }

inline std::string chunk_json(const std::string& delta, const std::string& finish = "null") {
  return R"({"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":)" + delta +
         R"(,"finish_reason":)" + finish + "}]}";
}

/// The SSE chunks of a streamed answer made of `pieces`, with [DONE].
inline std::vector<std::string> stream_chunks(const std::vector<std::string>& pieces, bool done = true) {
  std::vector<std::string> out;
  out.push_back(sse_event(chunk_json(R"({"role":"assistant","content":""})")));
  for (const auto& p : pieces) out.push_back(sse_event(chunk_json(R"({"content":")" + p + R"("})")));
  if (done) {
    out.push_back(sse_event(chunk_json("{}", "\"stop\"")));
    out.push_back("data: [DONE]\n\n");
  }
  return out;
}

class FakeCloud {
 public:
  using Behaviour = std::function<TestResponse(const TestRequest&)>;
  explicit FakeCloud(std::string answer = "from the cloud") {
    set_answer(std::move(answer));
    server_.route("POST", "/v1/chat/completions", [this](const TestRequest& r) {
      calls_.fetch_add(1);
      Behaviour b;
      {
        std::lock_guard lock(mutex_);
        b = behaviour_;
        last_body_ = r.body;
      }
      return b(r);
    });
  }
  /// Plain answers `text`; streamed requests get it in two pieces.
  void set_answer(std::string text) {
    set([text](const TestRequest& r) {
      if (r.body.find("\"stream\":true") != std::string::npos) {
        const std::size_t half = text.size() / 2;
        return TestResponse::sse(stream_chunks({text.substr(0, half), text.substr(half)}));
      }
      return TestResponse::json(chat_body(text));
    });
  }
  void set(Behaviour b) {
    std::lock_guard lock(mutex_);
    behaviour_ = std::move(b);
  }
  void fail_with(int status, std::string message, TestHeaders headers = {}) {
    set([status, message, headers](const TestRequest&) {
      TestResponse r = TestResponse::json(R"({"error":{"message":")" + message + R"(","type":"server_error"}})", status);
      r.headers = headers;
      return r;
    });
  }
  int calls() const { return calls_.load(); }
  std::string last_body() const {
    std::lock_guard lock(mutex_);
    return last_body_;
  }
  TestHttpServer& server() { return server_; }

  OpenAiOptions options(const std::string& name) const {
    OpenAiOptions o;
    o.base_url = server_.base_url() + "/v1";
    o.api_key = "sk-test";
    o.backend_name = name;
    o.common.retries.max_retries = 0;  // the router fails over; no client retries in these tests
    o.common.timeouts.connect = std::chrono::seconds(2);
    o.common.timeouts.first_byte = std::chrono::seconds(10);
    o.common.timeouts.total = std::chrono::seconds(20);
    o.common.timeouts.idle_read = std::chrono::seconds(10);
    return o;
  }
  std::shared_ptr<OpenAiClient> client(const std::string& name) const { return std::make_shared<OpenAiClient>(options(name)); }

 private:
  TestHttpServer server_;
  mutable std::mutex mutex_;
  Behaviour behaviour_;
  std::string last_body_;
  std::atomic<int> calls_{0};
};

}  // namespace cnai::test
