// The server tests' shared fixture: HttpServer over a real backend
// (OpenAiClient pointed at the loopback TestHttpServer, fast, scriptable,
// with delays), a SQLite JobService and a JobWorker, and small helpers.
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <boost/json.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <thread>

#include "cnai/clients/openai_client.hpp"
#include "cnai/core/error.hpp"
#include "cnai/server/http_server.hpp"
#include "cnai/server/job_service.hpp"
#include "cnai/server/job_worker.hpp"
#include "server/http_test_client.hpp"
#include "support/test_http_server.hpp"

namespace cnai::test {

namespace bj = boost::json;
using namespace std::chrono_literals;


inline const char* kChatBody = R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"up-model",
  "choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],
  "usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}})";

inline std::string chunk(const std::string& text, const std::string& finish = "null") {
  return "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"up-model\",\"choices\":[{\"index\":0,"
         "\"delta\":{\"content\":\"" + text + "\"},\"finish_reason\":" + finish + "}]}\n\n";
}

// The upstream: answers chat completions, streamed or not, after `delay`.
struct Upstream {
  cnai::test::TestHttpServer http;
  std::atomic<int> delay_ms{0};
  std::atomic<int> calls{0};
  /// Set before the first call: answers chat completions instead of the defaults.
  std::function<TestResponse(const TestRequest&)> chat_reply;
  Upstream() {
    http.route("POST", "/v1/chat/completions", [this](const cnai::test::TestRequest& req) {
      ++calls;
      if (chat_reply) return chat_reply(req);
      const auto d = std::chrono::milliseconds(delay_ms.load());
      if (req.body.find("\"stream\":true") != std::string::npos) {
        std::vector<std::string> chunks{chunk("Hel"), chunk("lo"), chunk(" there"), chunk("", "\"stop\""),
                                        "data: [DONE]\n\n"};
        auto r = cnai::test::TestResponse::sse(chunks, d);
        return r;
      }
      auto r = cnai::test::TestResponse::json(kChatBody);
      r.delay_before_head = d;
      return r;
    });
  }
  void add_embeddings() {
    http.route("POST", "/v1/embeddings", [this](const cnai::test::TestRequest&) {
      ++calls;
      return cnai::test::TestResponse::json(
          R"({"object":"list","model":"emb","data":[{"object":"embedding","index":0,"embedding":[0.5,-0.25]}],)"
          R"("usage":{"prompt_tokens":2,"total_tokens":2}})");
    });
  }
  cnai::OpenAiOptions options() const {
    cnai::OpenAiOptions o;
    o.base_url = http.base_url() + "/v1";
    o.api_key = "sk-upstream";
    o.common.retries.max_retries = 0;
    o.common.timeouts.first_byte = 20s;
    return o;
  }
};

struct Fixture {
  Upstream upstream;
  cnai::OpenAiClient backend{upstream.options()};
  std::string dir = [] {
    std::string p = "/tmp/cnai-http-XXXXXX";
    REQUIRE(mkdtemp(p.data()) != nullptr);
    return p;
  }();
  std::unique_ptr<cnai::JobStore> store = cnai::open_job_store("sqlite://" + dir + "/jobs.db");
  cnai::JobService jobs{*store};
  std::unique_ptr<cnai::HttpServer> server;
  std::jthread worker;

  explicit Fixture(cnai::ServerOptions o = base_options(), bool with_worker = true) {
    server = std::make_unique<cnai::HttpServer>(backend, o, &jobs);
    server->start();
    if (with_worker) {
      worker = std::jthread([this, o](std::stop_token st) {
        cnai::JobWorker w(jobs, cnai::endpoint_executor(backend, o), {"test-worker", 3, 100ms, 500ms});
        w.run(st);
      });
    }
  }
  ~Fixture() {
    if (worker.joinable()) {
      worker.request_stop();
      worker.join();
    }
    server.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  static cnai::ServerOptions base_options() {
    cnai::ServerOptions o;
    o.port = 0;
    o.compute_threads = 4;
    o.model_ids = {"up-model"};
    return o;
  }
  std::string call(const std::string& method, const std::string& target, const std::string& body = {},
                   const std::string& headers = {}) {
    RawClient c(server->port());
    c.send(http_request(method, target, body, headers));
    return c.read_response();
  }
  bj::value json_call(const std::string& method, const std::string& target, const std::string& body = {},
                      int expect = 200) {
    const std::string r = call(method, target, body);
    CHECK_MESSAGE(status_of(r) == expect, r);
    return bj::parse(body_of(r));
  }
};

inline std::string multipart_file(const std::string& content, const std::string& purpose, std::string& content_type) {
  const std::string b = "cnaiBoundary42";
  content_type = "multipart/form-data; boundary=" + b;
  return "--" + b + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n" + purpose + "\r\n--" + b +
         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\nContent-Type: "
         "application/jsonl\r\n\r\n" + content + "\r\n--" + b + "--\r\n";
}

inline bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return cond();
}

}  // namespace cnai::test
