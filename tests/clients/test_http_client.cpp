// HttpClient against the loopback TestHttpServer: roundtrips, pooling, body
// framings, gzip, every error class, cancellation, TLS and streaming. Every
// call runs under short client timeouts so no test can hang.
#include <doctest/doctest.h>

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "clients/http/http_client.hpp"
#include "clients/sse_parser.hpp"
#include "cnai/core/error.hpp"
#include "support/test_connect_proxy.hpp"
#include "support/test_http_server.hpp"

using namespace cnai::clients;
using cnai::Error;
using cnai::ErrorCode;
using cnai::test::Fault;
using cnai::test::TestHttpServer;
using cnai::test::TestRequest;
using cnai::test::TestResponse;
using namespace std::chrono_literals;

namespace {

HttpClientOptions test_options() {
  HttpClientOptions options;
  options.timeouts.connect = 2s;
  options.timeouts.first_byte = 3s;
  options.timeouts.idle_read = 3s;
  options.timeouts.total = 10s;
  options.https_proxy = "";  // the default: tests talk to loopback directly
  return options;
}

HttpRequest request(const TestHttpServer& server, std::string path, std::string method = "GET",
                    std::string body = {}) {
  HttpRequest out;
  out.method = std::move(method);
  out.url = Url::parse(server.base_url() + path);
  out.body = std::move(body);
  return out;
}

// Runs `call`, requires it to throw cnai::Error with `code`, returns the message.
template <class Call>
std::string error_of(Call&& call, ErrorCode code) {
  try {
    call();
  } catch (const Error& e) {
    CHECK_MESSAGE(e.code() == code, e.what());
    return e.what();
  }
  FAIL("expected a cnai::Error");
  return {};
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string pattern(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<char>('a' + (i * 7 + i / 13) % 26);
  return s;
}

}  // namespace

TEST_CASE("Url::parse splits scheme, host, port and target") {
  Url u = Url::parse("https://api.openai.com/v1/chat/completions?x=1#frag");
  CHECK(u.scheme == "https");
  CHECK(u.host == "api.openai.com");
  CHECK(u.port == 443);
  CHECK(u.target == "/v1/chat/completions?x=1");
  u = Url::parse("HTTP://127.0.0.1:8080");
  CHECK(u.scheme == "http");
  CHECK(u.port == 8080);
  CHECK(u.target == "/");
  u = Url::parse("http://[::1]:9000?q");
  CHECK(u.host == "::1");
  CHECK(u.port == 9000);
  CHECK(u.target == "/?q");
  for (const char* bad : {"", "api.openai.com/v1", "ftp://x/", "http://", "http://host:0/", "http://host:99999/",
                          "http://host:/", "http://user:pw@host/", "http://ho st/", "http://[::1/"}) {
    CAPTURE(bad);
    error_of([&] { Url::parse(bad); }, ErrorCode::invalid_argument);
  }
}

TEST_CASE("GET and POST roundtrip with headers and body") {
  TestHttpServer server;
  server.route("POST", "/echo", [](const TestRequest& r) {
    TestResponse response = TestResponse::json(r.body, 201);
    response.headers = {{"Content-Type", "application/json"}, {"X-Seen-Auth", r.header("authorization").value_or("")}};
    return response;
  });
  server.route("GET", "/hello", [](const TestRequest&) { return TestResponse::json(R"({"hello":"world"})"); });
  HttpClient client(test_options());

  HttpRequest post = request(server, "/echo?x=1", "POST", R"({"model":"m","n":1})");
  post.headers = {{"Authorization", "Bearer sk-test"}, {"Content-Type", "application/json"}};
  const HttpResponse r = client.send(post);
  CHECK(r.status == 201);
  CHECK(r.body == R"({"model":"m","n":1})");
  CHECK(r.header("x-seen-auth") == "Bearer sk-test");
  CHECK(r.header("CONTENT-TYPE") == "application/json");
  CHECK_FALSE(r.header("x-missing").has_value());
  const auto seen = server.last_request();
  REQUIRE(seen.has_value());
  CHECK(seen->target == "/echo?x=1");
  CHECK(seen->header("content-length") == std::to_string(post.body.size()));
  CHECK(seen->header("host") == "127.0.0.1:" + std::to_string(server.port()));

  const HttpResponse g = client.send(request(server, "/hello"));
  CHECK(g.status == 200);
  CHECK(g.body == R"({"hello":"world"})");
  CHECK(client.send(request(server, "/nowhere")).status == 404);  // statuses are returned, not thrown
}

TEST_CASE("Keep-alive: five requests share one connection; a stale one is retried") {
  TestHttpServer server;
  server.route("POST", "/x", [](const TestRequest& r) { return TestResponse::json(r.body); });
  HttpClient client(test_options());
  for (int i = 0; i < 5; ++i) {
    CHECK(client.send(request(server, "/x", "POST", std::to_string(i))).body == std::to_string(i));
  }
  CHECK(server.connections_accepted() == 1);
  CHECK(server.requests_handled() == 5);

  server.close_connections();  // the server drops the idle pooled connection
  std::this_thread::sleep_for(50ms);
  CHECK(client.send(request(server, "/x", "POST", "again")).body == "again");
  CHECK(server.connections_accepted() == 2);
}

TEST_CASE("Concurrent callers each get their own response") {
  TestHttpServer server;
  server.route("POST", "/x", [](const TestRequest& r) { return TestResponse::json(r.body); });
  HttpClient client(test_options());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string body = std::to_string(t * 100 + i);
        if (client.send(request(server, "/x", "POST", body)).body == body) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(ok == 40);
  CHECK(server.connections_accepted() <= 4);
}

TEST_CASE("max_connections_per_host bounds concurrent connections; waiters time out") {
  TestHttpServer server;
  server.route("GET", "/slow", [](const TestRequest&) {
    TestResponse response = TestResponse::json("{}");
    response.delay_before_head = 100ms;
    return response;
  });
  HttpClientOptions options = test_options();
  options.max_connections_per_host = 2;
  HttpClient client(options);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2; ++i) ok += client.send(request(server, "/slow")).status == 200;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(ok == 8);
  CHECK(server.connections_accepted() == 2);

  server.route("GET", "/held", [](const TestRequest&) {
    TestResponse response = TestResponse::json("{}");
    response.delay_before_head = 800ms;
    return response;
  });
  options.max_connections_per_host = 1;
  options.timeouts.connect = 200ms;
  HttpClient single(options);
  std::atomic<int> held_status{0};
  std::thread holder([&] { held_status = single.send(request(server, "/held")).status; });
  std::this_thread::sleep_for(100ms);
  const auto start = std::chrono::steady_clock::now();
  const std::string message = error_of([&] { single.send(request(server, "/slow")); }, ErrorCode::timeout);
  CHECK(message.find("waiting") != std::string::npos);
  CHECK(seconds_since(start) < 0.6);
  holder.join();
  CHECK(held_status == 200);
}

TEST_CASE("Chunked and gzip bodies are decoded") {
  TestHttpServer server;
  const std::string big = pattern(200000);
  server.route("GET", "/chunked", [](const TestRequest&) {
    TestResponse response;
    response.chunks = {"ab", "cd", std::string(50000, 'e'), "f"};
    return response;
  });
  server.route("GET", "/gzip", [&](const TestRequest&) {
    TestResponse response = TestResponse::json(big);
    response.gzip = true;
    return response;
  });
  server.route("GET", "/gzip-chunked", [&](const TestRequest&) {
    TestResponse response;
    response.chunks = {big.substr(0, 1000), big.substr(1000)};
    response.gzip = true;
    return response;
  });
  HttpClient client(test_options());
  const HttpResponse chunked = client.send(request(server, "/chunked"));
  CHECK(chunked.header("transfer-encoding") == "chunked");
  CHECK(chunked.body == "abcd" + std::string(50000, 'e') + "f");

  const HttpResponse gz = client.send(request(server, "/gzip"));
  CHECK(gz.header("content-encoding") == "gzip");
  CHECK(std::stoul(gz.header("content-length").value()) < big.size() / 2);  // really compressed on the wire
  CHECK(gz.body == big);
  CHECK(server.last_request()->header("accept-encoding") == "gzip");
  CHECK(client.send(request(server, "/gzip-chunked")).body == big);
}

TEST_CASE("Body limits apply to plain and to decompressed bodies") {
  TestHttpServer server;
  server.route("GET", "/big", [](const TestRequest&) { return TestResponse::json(std::string(5000, 'x')); });
  server.route("GET", "/bomb", [](const TestRequest&) {
    TestResponse response = TestResponse::json(std::string(1 << 20, '\0'));
    response.gzip = true;  // ~1 KB on the wire, 1 MiB decoded
    return response;
  });
  server.route("GET", "/endless", [](const TestRequest&) {
    TestResponse response;
    response.fault = Fault::endless_body;
    return response;
  });
  HttpClientOptions options = test_options();
  options.max_body_bytes = 4096;
  HttpClient client(options);
  const std::string message =
      error_of([&] { client.send(request(server, "/big")); }, ErrorCode::upstream);
  CHECK(message.find("exceeds 4096 bytes") != std::string::npos);
  error_of([&] { client.send(request(server, "/bomb")); }, ErrorCode::upstream);
  const auto start = std::chrono::steady_clock::now();
  error_of([&] { client.send(request(server, "/endless")); }, ErrorCode::upstream);
  CHECK(seconds_since(start) < 2.0);
}

TEST_CASE("Connection failures and broken bodies are errors, not hangs") {
  TestHttpServer server;
  server.route("GET", "/reset", [](const TestRequest&) {
    TestResponse response = TestResponse::json(std::string(100000, 'r'));
    response.fault = Fault::reset_mid_body;
    return response;
  });
  server.route("GET", "/truncated", [](const TestRequest&) {
    TestResponse response = TestResponse::json("short");
    response.fault = Fault::truncated_body;
    return response;
  });
  server.route("GET", "/close", [](const TestRequest&) {
    TestResponse response;
    response.fault = Fault::close_before_response;
    return response;
  });
  HttpClient client(test_options());
  const auto start = std::chrono::steady_clock::now();
  error_of([&] { client.send(request(server, "/reset")); }, ErrorCode::unavailable);
  error_of([&] { client.send(request(server, "/truncated")); }, ErrorCode::unavailable);
  error_of([&] { client.send(request(server, "/close")); }, ErrorCode::unavailable);
  CHECK(seconds_since(start) < 2.0);

  // A port nobody listens on: refused at once.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor probe(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto closed_port = probe.local_endpoint().port();
  probe.close();
  HttpRequest refused;
  refused.method = "GET";
  refused.url = Url::parse("http://127.0.0.1:" + std::to_string(closed_port) + "/");
  const auto t0 = std::chrono::steady_clock::now();
  const std::string message = error_of([&] { client.send(refused); }, ErrorCode::unavailable);
  CHECK(message.find("refused") != std::string::npos);
  CHECK(seconds_since(t0) < 1.0);
}

TEST_CASE("Timeouts name the phase that expired") {
  TestHttpServer server;
  server.route("GET", "/slow-head", [](const TestRequest&) {
    TestResponse response = TestResponse::json("{}");
    response.delay_before_head = 3000ms;
    return response;
  });
  server.route("GET", "/slow-body", [](const TestRequest&) {
    return TestResponse::sse({"data: 1\n\n", "data: 2\n\n"}, 3000ms);
  });
  HttpClientOptions options = test_options();
  options.timeouts.first_byte = 200ms;
  options.timeouts.idle_read = 200ms;
  HttpClient client(options);
  auto start = std::chrono::steady_clock::now();
  std::string message = error_of([&] { client.send(request(server, "/slow-head")); }, ErrorCode::timeout);
  CHECK(message.find("first_byte") != std::string::npos);
  CHECK(seconds_since(start) < 1.0);

  start = std::chrono::steady_clock::now();
  message = error_of([&] { client.send(request(server, "/slow-body")); }, ErrorCode::timeout);
  CHECK(message.find("idle_read") != std::string::npos);
  CHECK(seconds_since(start) < 1.0);

  options.timeouts.first_byte = 5s;
  options.timeouts.total = 300ms;
  HttpClient total_client(options);
  start = std::chrono::steady_clock::now();
  message = error_of([&] { total_client.send(request(server, "/slow-head")); }, ErrorCode::timeout);
  CHECK(message.find("total") != std::string::npos);
  CHECK(seconds_since(start) < 1.0);
}

TEST_CASE("Cancellation from another thread ends a blocked call within a second") {
  TestHttpServer server;
  server.route("GET", "/slow-head", [](const TestRequest&) {
    TestResponse response = TestResponse::json("{}");
    response.delay_before_head = 5000ms;
    return response;
  });
  server.route("GET", "/drip", [](const TestRequest&) {
    return TestResponse::sse({"data: 1\n\n", "data: 2\n\n", "data: 3\n\n"}, 2000ms);
  });
  HttpClient client(test_options());
  for (const char* path : {"/slow-head", "/drip"}) {
    CAPTURE(path);
    CancelToken token;
    std::thread canceller([&] {
      std::this_thread::sleep_for(200ms);
      token.cancel();
    });
    const auto start = std::chrono::steady_clock::now();
    error_of([&] { client.send(request(server, path), &token); }, ErrorCode::cancelled);
    CHECK(seconds_since(start) < 1.2);
    canceller.join();
  }
  CancelToken already;
  already.cancel();
  error_of([&] { client.send(request(server, "/drip"), &already); }, ErrorCode::cancelled);
}

TEST_CASE("Streaming delivers the head once, then pieces in order; on_data can stop") {
  TestHttpServer server;
  server.route("POST", "/sse", [](const TestRequest&) {
    return TestResponse::sse({"data: one\n\n", "data: two\n\n", "data: three\n\n"}, 30ms);
  });
  server.route("GET", "/endless", [](const TestRequest&) {
    TestResponse response;
    response.fault = Fault::endless_body;
    return response;
  });
  HttpClient client(test_options());
  int heads = 0;
  std::vector<std::string> pieces;
  const HttpResponse head = client.stream(
      request(server, "/sse", "POST", "{}"),
      [&](const HttpResponse& h) {
        ++heads;
        CHECK(h.status == 200);
        CHECK(h.header("content-type") == "text/event-stream");
        CHECK(pieces.empty());
      },
      [&](std::string_view piece) {
        pieces.emplace_back(piece);
        return BodyControl::more;
      });
  CHECK(heads == 1);
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(pieces.size() >= 3);  // written 30 ms apart: arrive separately
  std::string all;
  for (const auto& p : pieces) all += p;
  CHECK(all == "data: one\n\ndata: two\n\ndata: three\n\n");

  std::size_t received = 0;
  const auto start = std::chrono::steady_clock::now();
  client.stream(request(server, "/endless"), [](const HttpResponse&) {},
                [&](std::string_view piece) {
                  received += piece.size();
                  return received < 100000 ? BodyControl::more : BodyControl::stop;
                });
  CHECK(received >= 100000);
  CHECK(seconds_since(start) < 2.0);
  CHECK(client.send(request(server, "/sse", "POST")).body == all);  // the client is still usable
}

TEST_CASE("TLS: verified with the test CA, rejected without it") {
  TestHttpServer server(TestHttpServer::Options{.tls = true});
  server.route("GET", "/secure", [](const TestRequest&) { return TestResponse::json(R"({"tls":true})"); });
  HttpClientOptions options = test_options();
  options.ca_file = TestHttpServer::ca_file();
  HttpClient trusted(options);
  for (int i = 0; i < 3; ++i) CHECK(trusted.send(request(server, "/secure")).body == R"({"tls":true})");
  CHECK(server.connections_accepted() == 1);  // TLS connections are pooled too

  HttpRequest by_name = request(server, "/secure");
  by_name.url = Url::parse("https://localhost:" + std::to_string(server.port()) + "/secure");
  CHECK(trusted.send(by_name).status == 200);  // DNS SAN matches too

  HttpClient untrusted(test_options());  // system store only
  const std::string message = error_of([&] { untrusted.send(request(server, "/secure")); }, ErrorCode::unavailable);
  CHECK(message.find("certificate") != std::string::npos);

  HttpClientOptions insecure = test_options();
  insecure.verify_peer = false;
  CHECK(HttpClient(insecure).send(request(server, "/secure")).status == 200);
}

TEST_CASE("HTTPS through a CONNECT proxy: tunnelled, verified, pooled") {
  TestHttpServer server(TestHttpServer::Options{.tls = true});
  server.route("GET", "/via-proxy", [](const TestRequest&) { return TestResponse::json(R"({"proxied":true})"); });
  cnai::test::TestConnectProxy proxy;
  HttpClientOptions options = test_options();
  options.ca_file = TestHttpServer::ca_file();
  options.https_proxy = proxy.url();
  {
    HttpClient client(options);
    for (int i = 0; i < 3; ++i) CHECK(client.send(request(server, "/via-proxy")).body == R"({"proxied":true})");
    CHECK(proxy.tunnels_opened() == 1);
    CHECK(proxy.last_target() == "127.0.0.1:" + std::to_string(server.port()));

    // The proxy cannot reach the target: a clear unavailable error.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor probe(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    const auto closed_port = probe.local_endpoint().port();
    probe.close();
    HttpRequest unreachable;
    unreachable.method = "GET";
    unreachable.url = Url::parse("https://127.0.0.1:" + std::to_string(closed_port) + "/");
    const std::string message = error_of([&] { client.send(unreachable); }, ErrorCode::unavailable);
    CHECK(message.find("502") != std::string::npos);
  }
}

TEST_CASE("stream() feeding SseParser yields the server's events, even split mid-line") {
  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [](const TestRequest&) {
    return TestResponse::sse({"data: {\"n\":1}\n", "\ndata: {\"n\"", ":2}\r", "\n\r\n: ping\n\ndata: [DONE]\n\n"}, 10ms);
  });
  HttpClient client(test_options());
  SseParser parser;
  std::vector<std::string> data;
  client.stream(request(server, "/v1/chat/completions", "POST", "{}"), [](const HttpResponse&) {},
                [&](std::string_view piece) {
                  parser.feed(piece, [&](const SseEvent& e) { data.push_back(e.data); });
                  return BodyControl::more;
                });
  CHECK_FALSE(parser.finish());
  CHECK(data == std::vector<std::string>{R"({"n":1})", R"({"n":2})", "[DONE]"});
}
