// The clients against a hostile server: one test per defect class an
// adversarial run found (issue 12). Memory stays bounded, every failure is a
// typed cnai::Error, a stream that delivered its end marker succeeds whatever
// follows, interim responses are skipped, server text is escaped, waits are
// fair and name resolution obeys its timeout.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "clients/http/http_client.hpp"
#include "cnai/clients/anthropic_client.hpp"
#include "cnai/clients/openai_client.hpp"
#include "cnai/core/error.hpp"
#include "support/test_http_server.hpp"

using namespace cnai;
using namespace cnai::clients;
using namespace std::chrono_literals;
using cnai::test::Fault;
using cnai::test::TestHttpServer;
using cnai::test::TestRequest;
using cnai::test::TestResponse;

namespace {

HttpClientOptions http_options() {
  HttpClientOptions o;
  o.timeouts.connect = 2s;
  o.timeouts.first_byte = 5s;
  o.timeouts.idle_read = 30s;  // long: no test may pass by waiting it out
  o.timeouts.total = 60s;
  return o;
}

HttpRequest get(const TestHttpServer& server, const std::string& path) {
  HttpRequest r;
  r.method = "GET";
  r.url = Url::parse(server.base_url() + path);
  return r;
}

template <class F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  } catch (const std::exception& e) {
    FAIL("an untyped exception escaped: " << e.what());
  }
  FAIL("expected a cnai::Error");
  return Error(ErrorCode::internal, "unreachable");
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

TestResponse fault(Fault f) {
  TestResponse r;
  r.fault = f;
  return r;
}

OpenAiOptions openai_options(const TestHttpServer& server) {
  OpenAiOptions o;
  o.base_url = server.base_url() + "/v1";
  o.common.retries.max_retries = 0;
  o.common.timeouts.idle_read = 30s;
  o.common.timeouts.total = 60s;
  return o;
}

ChatRequest hello() {
  ChatRequest r;
  r.model = "gpt-4o-mini";
  r.messages = {Message::user("hi")};
  return r;
}

const std::vector<std::string> kStream = {
    "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n",
    "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
    "data: [DONE]\n\n"};

}  // namespace

TEST_CASE("A response header over 64 KiB is a typed error, not a bare exception") {
  TestHttpServer server;
  server.route("GET", "/huge", [](const TestRequest&) {
    TestResponse r = TestResponse::json("{}");
    r.fault = Fault::huge_header;
    return r;
  });
  HttpClient client(http_options());
  const Error e = error_of([&] { client.send(get(server, "/huge")); });
  CHECK(e.code() == ErrorCode::upstream);
  CHECK(std::string(e.what()).find("exceeds 65536 bytes") != std::string::npos);
}

TEST_CASE("Endless chunk extensions and endless trailers: bounded memory, a typed error, at once") {
  for (Fault f : {Fault::endless_chunk_extension, Fault::endless_trailer}) {
    CAPTURE(static_cast<int>(f));
    TestHttpServer server;
    server.route("GET", "/x", [f](const TestRequest&) { return fault(f); });
    HttpClient client(http_options());
    const std::size_t rss_before = rss_bytes();
    const auto t0 = std::chrono::steady_clock::now();
    const Error e = error_of([&] { client.stream(get(server, "/x"), [](const HttpResponse&) {},
                                                 [](std::string_view) { return BodyControl::more; }); });
    CHECK(e.code() == ErrorCode::upstream);
    CHECK(std::string(e.what()).find("exceeds") != std::string::npos);
    CHECK(seconds_since(t0) < 2.0);
    // Before the fix the buffer grew with whatever the server sent (over 2 GB seen).
    CHECK(rss_bytes() < rss_before + (std::size_t{16} << 20));
    MESSAGE("client gave up after the server wrote " << server.fault_bytes_sent() << " bytes");
    CHECK(server.fault_bytes_sent() < (std::size_t{64} << 20));  // what loopback buffers hold, not 2 GiB
  }
}

TEST_CASE("1xx interim responses are skipped") {
  TestHttpServer server;
  server.route("GET", "/hints", [](const TestRequest&) {
    TestResponse r = TestResponse::json(R"({"real":true})");
    r.interim = {"HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"};
    return r;
  });
  HttpClient client(http_options());
  const HttpResponse r = client.send(get(server, "/hints"));
  CHECK(r.status == 200);
  CHECK(r.body == R"({"real":true})");
  CHECK_FALSE(r.header("link"));  // the hint's headers are not the response's
}

TEST_CASE("After [DONE] a reset, a stall or a broken Content-Length cannot fail the stream") {
  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [](const TestRequest& req) {
    const std::string mode = req.header("x-mode").value_or("");
    if (mode == "short") {  // not chunked: Content-Length promises more than is sent, then close
      TestResponse r;
      r.headers = {{"Content-Type", "text/event-stream"}};
      for (const auto& c : kStream) r.body += c;
      r.fault = Fault::truncated_body;
      return r;
    }
    TestResponse r = TestResponse::sse(kStream);
    r.fault = mode == "reset" ? Fault::reset_after_chunks : Fault::stall_after_chunks;
    return r;
  });
  for (const std::string mode : {"reset", "stall", "short"}) {
    CAPTURE(mode);
    OpenAiOptions o = openai_options(server);
    o.extra_headers["X-Mode"] = mode;
    OpenAiClient client(o);
    const auto t0 = std::chrono::steady_clock::now();
    const ChatResponse r = client.chat_stream(hello(), [](const ChatChunk&) { return true; });
    CHECK(r.choices.at(0).message.content == "Hello");
    CHECK(r.choices[0].finish_reason == FinishReason::stop);
    CHECK(seconds_since(t0) < 2.0);  // idle_read is 30 s: nothing waited for it
  }
}

TEST_CASE("After message_stop a reset cannot fail an Anthropic stream") {
  TestHttpServer server;
  server.route("POST", "/v1/messages", [](const TestRequest&) {
    TestResponse r = TestResponse::sse(
        {"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"claude\"}}\n\n",
         "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"ok\"}}\n\n",
         "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"});
    r.fault = Fault::reset_after_chunks;
    return r;
  });
  AnthropicOptions o;
  o.base_url = server.base_url();
  o.common.retries.max_retries = 0;
  AnthropicClient client(o);
  CHECK(client.chat_stream(hello(), [](const ChatChunk&) { return true; }).choices.at(0).message.content == "ok");
}

TEST_CASE("A stream that ended properly gives its connection back") {
  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [](const TestRequest&) { return TestResponse::sse(kStream); });
  OpenAiClient client(openai_options(server));
  for (int i = 0; i < 3; ++i) CHECK(client.chat_stream(hello(), {}).choices.at(0).message.content == "Hello");
  CHECK(server.connections_accepted() == 1);
}

TEST_CASE("Media types are compared case-insensitively") {
  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [](const TestRequest& req) {
    if (req.body.find("\"stream\":true") != std::string::npos) {
      TestResponse r = TestResponse::sse(kStream);
      r.headers = {{"Content-Type", "Text/Event-Stream; Charset=UTF-8"}};
      return r;
    }
    TestResponse r = TestResponse::json(
        R"({"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"yes"}}]})");
    r.headers = {{"Content-Type", "Application/JSON; charset=utf-8"}};
    return r;
  });
  OpenAiClient client(openai_options(server));
  CHECK(client.chat(hello()).choices.at(0).message.content == "yes");
  CHECK(client.chat_stream(hello(), {}).choices.at(0).message.content == "Hello");
}

TEST_CASE("A redirect is reported with its location") {
  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [](const TestRequest&) {
    TestResponse r = TestResponse::json("");
    r.status = 301;
    r.headers = {{"Location", "https://api.example.com/v2/chat/completions"}};
    return r;
  });
  const Error e = error_of([&] { OpenAiClient(openai_options(server)).chat(hello()); });
  CHECK(e.code() == ErrorCode::invalid_argument);
  CHECK(e.upstream_status() == 301);
  CHECK(std::string(e.what()).find("https://api.example.com/v2/chat/completions") != std::string::npos);
}

TEST_CASE("Control characters from a server are escaped before they reach a message") {
  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [](const TestRequest&) {
    return TestResponse::json(R"({"error":{"message":"\u001b[2J\u001b]0;owned\u0007 gone","type":"x\u001by"}})", 400);
  });
  const Error e = error_of([&] { OpenAiClient(openai_options(server)).chat(hello()); });
  const std::string what = e.what();
  CHECK(what.find('\x1b') == std::string::npos);
  CHECK(what.find('\x07') == std::string::npos);
  CHECK(what.find("\\x1b[2J") != std::string::npos);
  CHECK(what.find("gone") != std::string::npos);
}

TEST_CASE("Tool-call indices and usage counts are range-checked") {
  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [](const TestRequest& req) {
    if (req.header("x-case") == "index") {
      return TestResponse::sse({"data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":"
                                "[{\"index\":4294967296,\"id\":\"t\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}\n\n",
                                "data: [DONE]\n\n"});
    }
    return TestResponse::json(R"({"id":"c","model":"m","choices":[],"usage":{"prompt_tokens":9223372036854775807,"completion_tokens":9223372036854775807}})");
  });
  OpenAiOptions o = openai_options(server);
  o.extra_headers["X-Case"] = "index";
  // 2^32 used to narrow to 0 and pass the check.
  const Error index = error_of([&] { OpenAiClient(o).chat_stream(hello(), {}); });
  CHECK(index.code() == ErrorCode::upstream);
  CHECK(std::string(index.what()).find("tool_calls[0].index") != std::string::npos);
  const Error usage = error_of([&] { OpenAiClient(openai_options(server)).chat(hello()); });
  CHECK(usage.code() == ErrorCode::upstream);
  CHECK(std::string(usage.what()).find("usage.prompt_tokens") != std::string::npos);
}

TEST_CASE("Name resolution obeys the connect timeout and cancellation") {
  TestHttpServer server;
  server.route("GET", "/ok", [](const TestRequest&) { return TestResponse::json("{}"); });
  HttpClientOptions o = http_options();
  o.timeouts.connect = 200ms;
  // A resolver as slow as a getaddrinfo whose DNS server does not answer.
  o.resolver = [](const std::string&, std::uint16_t) -> std::vector<std::string> {
    std::this_thread::sleep_for(3s);
    return {"127.0.0.1"};
  };
  HttpClient slow(o);
  HttpRequest r = get(server, "/ok");
  r.url.host = "api.slow-dns.test";
  auto t0 = std::chrono::steady_clock::now();
  Error e = error_of([&] { slow.send(r); });
  CHECK(e.code() == ErrorCode::timeout);
  CHECK(std::string(e.what()).find("resolving 'api.slow-dns.test'") != std::string::npos);
  CHECK(seconds_since(t0) < 1.0);

  o.timeouts.connect = 10s;
  HttpClient cancellable(o);
  CancelToken token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(100ms);
    token.cancel();
  });
  t0 = std::chrono::steady_clock::now();
  e = error_of([&] { cancellable.send(r, &token); });
  canceller.join();
  CHECK(e.code() == ErrorCode::cancelled);
  CHECK(seconds_since(t0) < 1.0);

  o.resolver = [](const std::string& host, std::uint16_t) -> std::vector<std::string> {
    if (host == "api.local.test") return {"127.0.0.1"};
    throw std::runtime_error("Name or service not known");
  };
  HttpClient custom(o);
  r.url.host = "api.local.test";  // the host's own service discovery
  CHECK(custom.send(r).status == 200);
  r.url.host = "nowhere.test";
  e = error_of([&] { custom.send(r); });
  CHECK(e.code() == ErrorCode::unavailable);
  CHECK(std::string(e.what()).find("Name or service not known") != std::string::npos);
}

TEST_CASE("Connection slots: another origin does not wait; one origin is first come, first served") {
  TestHttpServer a, b;
  for (TestHttpServer* s : {&a, &b}) {
    s->route("GET", "/hold", [](const TestRequest&) {
      TestResponse r = TestResponse::json("{}");
      r.delay_before_head = 800ms;
      return r;
    });
  }
  // The order in which a's slot served the waiters, as the server saw it (a
  // client thread may be descheduled between its reply and any bookkeeping of its own).
  std::mutex m;
  std::vector<int> order;
  a.route("GET", "/quick", [&](const TestRequest& r) {
    if (auto q = r.target.find("?i="); q != std::string::npos) {
      std::lock_guard lock(m);
      order.push_back(std::stoi(r.target.substr(q + 3)));
    }
    return TestResponse::json("{}");
  });
  b.route("GET", "/quick", [](const TestRequest&) { return TestResponse::json("{}"); });
  HttpClientOptions o = http_options();
  o.max_connections_per_host = 1;
  HttpClient client(o);

  std::thread holder([&] { client.send(get(a, "/hold")); });
  std::this_thread::sleep_for(50ms);
  auto t0 = std::chrono::steady_clock::now();
  client.send(get(b, "/quick"));
  CHECK(seconds_since(t0) < 0.3);  // origin b has its own slots (a holds a's for 0.8 s)

  std::vector<std::thread> waiters;
  for (int i = 0; i < 4; ++i) {
    waiters.emplace_back([&, i] { client.send(get(a, "/quick?i=" + std::to_string(i))); });
    std::this_thread::sleep_for(100ms);  // arrive in order 0, 1, 2, 3, while the holder holds
  }
  for (auto& w : waiters) w.join();
  holder.join();
  CHECK(order == std::vector<int>{0, 1, 2, 3});

  // A waiter's cancel wakes it at once.
  std::thread holder2([&] { client.send(get(a, "/hold")); });
  std::this_thread::sleep_for(50ms);
  CancelToken token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(30ms);
    token.cancel();
  });
  t0 = std::chrono::steady_clock::now();
  const Error e = error_of([&] { client.send(get(a, "/quick"), &token); });
  CHECK(e.code() == ErrorCode::cancelled);
  CHECK(std::string(e.what()).find("waiting for a connection") != std::string::npos);
  CHECK(seconds_since(t0) < 0.4);  // woken by the cancel, not by the holder's 0.8 s
  canceller.join();
  holder2.join();
}
