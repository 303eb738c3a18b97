// The server's edges over a real backend (see server_fixture.hpp): a
// refusal read in full even when the client sent its body at once (a
// lingering close, not an RST), Retry-After from the key's own token
// bucket, the idle keep-alive timeout, and drain with a stream in flight
// (finished within the timeout) or past it (cut at the timeout).
#include "server/server_fixture.hpp"

namespace bj = boost::json;
using namespace std::chrono_literals;
using cnai::test::Fixture;
using cnai::test::RawClient;
using cnai::test::body_of;
using cnai::test::http_request;
using cnai::test::status_of;
using cnai::test::wait_for;

namespace {

std::string header_value(const std::string& response, const std::string& lower_name) {
  const std::string head = response.substr(0, response.find("\r\n\r\n"));
  std::string lower = head;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto p = lower.find("\r\n" + lower_name + ":");
  if (p == std::string::npos) return {};
  auto v = p + 2 + lower_name.size() + 1;
  while (v < head.size() && head[v] == ' ') ++v;
  return head.substr(v, head.find("\r\n", v) - v);
}

}  // namespace

TEST_CASE("A request refused before its body is read gets its reply, not a reset") {
  cnai::ServerOptions o = Fixture::base_options();
  o.limits.max_body_bytes = 1000;
  o.limits.max_header_count = 20;
  Fixture f(o, false);
  // The whole oversized request in one go, as clients without Expect: 100-continue send it:
  // the server answers from the head and must not reset the connection under the unread body.
  for (int round = 0; round < 3; ++round) {
    RawClient c(f.server->port());
    const std::string body(256 << 10, 'x');
    std::thread sender([&] { c.send(http_request("POST", "/v1/chat/completions", body)); });
    const std::string r = c.read_response(5s);
    sender.join();
    CHECK_MESSAGE(status_of(r) == 413, r.substr(0, 200));
    CHECK(bj::parse(body_of(r)).at("error").at("type") == "invalid_request_error");
    CHECK(r.find("Connection: close") != std::string::npos);
  }
  {
    RawClient c(f.server->port());  // too many header fields, with a body behind them
    std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n";
    for (int i = 0; i < 30; ++i) req += "X-H" + std::to_string(i) + ": v\r\n";
    req += "\r\n" + std::string(100000, 'y');
    std::thread sender([&] { c.send(req); });
    CHECK(status_of(c.read_response(5s)) == 431);
    sender.join();
  }
  CHECK(wait_for([&] { return f.server->stats().connections == 0; }, 5s));
  CHECK(f.upstream.calls == 0);
}

TEST_CASE("Retry-After on a key's 429 is the time its token bucket needs for one request") {
  cnai::ServerOptions o = Fixture::base_options();
  o.api_keys = {{"per-minute", cnai::sha256_hex("sk-1"), 1}, {"per-second", cnai::sha256_hex("sk-60"), 60},
                {"two", cnai::sha256_hex("sk-2"), 2}};
  Fixture f(o, false);
  auto get = [&](const std::string& key) { return f.call("GET", "/v1/models", {}, "Authorization: Bearer " + key + "\r\n"); };
  CHECK(status_of(get("sk-1")) == 200);
  const std::string limited = get("sk-1");
  REQUIRE(status_of(limited) == 429);
  const int wait_s = std::stoi(header_value(limited, "retry-after"));
  CHECK(wait_s >= 55);  // one request a minute: the bucket refills in 60 s (less what elapsed since)
  CHECK(wait_s <= 60);
  CHECK(bj::parse(body_of(limited)).at("error").at("type") == "rate_limit_error");

  CHECK(status_of(get("sk-2")) == 200);
  CHECK(status_of(get("sk-2")) == 200);
  const int two_s = std::stoi(header_value(get("sk-2"), "retry-after"));
  CHECK(two_s >= 25);  // two a minute: one more in 30 s
  CHECK(two_s <= 30);

  for (int i = 0; i < 60; ++i) (void)get("sk-60");  // a burst of a minute's worth
  const std::string fast = get("sk-60");
  REQUIRE(status_of(fast) == 429);
  CHECK(header_value(fast, "retry-after") == "1");
  // The key named in x-api-key (Anthropic's SDK) is the same key.
  CHECK(status_of(f.call("GET", "/v1/models", {}, "x-api-key: sk-2\r\n")) == 429);
  CHECK(status_of(f.call("GET", "/v1/models", {}, "x-api-key: sk-nope\r\n")) == 401);
}

TEST_CASE("An idle keep-alive connection is closed after idle_timeout, a busy one is not") {
  cnai::ServerOptions o = Fixture::base_options();
  o.limits.idle_timeout = 400ms;
  Fixture f(o, false);
  RawClient c(f.server->port());
  for (int i = 0; i < 3; ++i) {  // requests 200 ms apart keep it open
    c.send(http_request("GET", "/healthz"));
    CHECK(status_of(c.read_response(2s)) == 200);
    std::this_thread::sleep_for(200ms);
  }
  CHECK_FALSE(c.closed_by_peer());
  const auto t0 = std::chrono::steady_clock::now();
  c.read(3s);  // nothing sent: the server closes
  const auto idle = std::chrono::steady_clock::now() - t0;
  CHECK(c.closed_by_peer());
  CHECK(idle >= 150ms);  // 400 ms after the last reply, 200 ms of which already passed
  CHECK(idle < 2s);
  CHECK(wait_for([&] { return f.server->stats().connections == 0; }, 2s));
}

TEST_CASE("Drain with a stream in flight: readiness drops at once, the stream finishes, then the server stops") {
  cnai::ServerOptions o = Fixture::base_options();
  o.drain_timeout = 10s;
  Fixture f(o, false);
  f.upstream.delay_ms = 150;  // between chunks: the stream takes ~0.75 s
  RawClient stream(f.server->port());
  stream.send(http_request("POST", "/v1/chat/completions",
                           R"({"model":"up-model","messages":[{"role":"user","content":"hi"}],"stream":true})"));
  const std::string first = stream.read(5s, "\"content\":\"Hel\"");
  REQUIRE(first.find("\"content\":\"Hel\"") != std::string::npos);
  RawClient idle(f.server->port());
  REQUIRE(wait_for([&] { return f.server->stats().connections == 2; }));
  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<bool> drained{false};
  std::thread drainer([&] {
    f.server->drain();
    drained = true;
  });
  REQUIRE(wait_for([&] {
    idle.send(http_request("GET", "/readyz"));
    return status_of(idle.read_response(1s)) == 503;
  }, 2s));
  CHECK_FALSE(drained.load());  // still serving the stream
  const std::string rest = stream.read(10s, "0\r\n\r\n");
  CHECK(rest.find("data: [DONE]") != std::string::npos);
  CHECK(rest.find("0\r\n\r\n") != std::string::npos);
  drainer.join();
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);  // done when the stream was, not at the timeout
  CHECK(f.server->stats().connections == 0);
  CHECK_THROWS((void)RawClient(f.server->port()));
}

TEST_CASE("Drain past its timeout: what still runs is cancelled and the server stops") {
  cnai::ServerOptions o = Fixture::base_options();
  o.drain_timeout = 300ms;
  Fixture f(o, false);
  f.upstream.delay_ms = 8000;
  RawClient c(f.server->port());
  c.send(http_request("POST", "/v1/chat/completions", R"({"model":"up-model","messages":[{"role":"user","content":"hi"}]})"));
  REQUIRE(wait_for([&] { return f.upstream.calls == 1; }));
  const auto t0 = std::chrono::steady_clock::now();
  f.server->drain();
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 250ms);
  CHECK(took < 3s);  // the timeout, then a prompt cancel — not the upstream's 8 s
  c.read(2s);
  CHECK(c.closed_by_peer());
  CHECK(f.server->stats().in_flight == 0);
}
