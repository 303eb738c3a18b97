// The router under load: a thousand concurrent requests (plain and streamed,
// one thread each) through one Router over four loopback "clouds" that inject
// random faults — 5xx, 429 with Retry-After, connections closed before the
// response, slow first bytes, streams that break or stall after content.
// Every request ends in exactly one terminal outcome (its own deployment's
// whole answer, or a typed error), the router's own accounts (observer,
// Prometheus) agree with the callers', a stream is never spliced, and no
// connection, thread or descriptor is left behind.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <latch>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "cnai/router/router.hpp"
#include "fake_cloud.hpp"
#include "prometheus_text.hpp"
#include "support/process_counters.hpp"

using namespace cnai;
using namespace std::chrono_literals;
using cnai::test::FdCount;
using cnai::test::open_fds;
using cnai::test::TestHttpServer;
using cnai::test::threads_now;
using cnai::test::TestRequest;
using cnai::test::TestResponse;

namespace {

// Sanitizers slow every call several times over: the timeouts, and the
// faults meant to pass them, stretch with them.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kSlow = 4;
#else
constexpr int kSlow = 1;
#endif

std::string tag_of(const std::string& body) {
  const auto p = body.find("tag-");
  return p == std::string::npos ? "" : body.substr(p, body.find_first_of("\" \\", p) - p);
}

// What deployment `k` answers to `tag`: the pieces of its stream, and their concatenation.
std::vector<std::string> pieces_for(const std::string& tag, int k) {
  return {tag + "@d" + std::to_string(k) + " ", "alpha ", "beta ", "gamma ", "delta"};
}
std::string answer_for(const std::string& tag, int k) {
  std::string s;
  for (const auto& p : pieces_for(tag, k)) s += p;
  return s;
}

// One upstream: a loopback server whose every call draws a fault.
class FaultyCloud {
 public:
  explicit FaultyCloud(int k) : k_(k), rng_(1234u + static_cast<unsigned>(k)) {
    server_.route("POST", "/v1/chat/completions", [this](const TestRequest& r) { return answer(r); });
  }
  TestHttpServer& server() { return server_; }
  int calls() const { return calls_.load(); }
  int closes() const { return closes_.load(); }

  std::shared_ptr<OpenAiClient> client() const {
    OpenAiOptions o;
    o.base_url = server_.base_url() + "/v1";
    o.api_key = "sk-load";
    o.backend_name = "d" + std::to_string(k_);
    o.common.retries.max_retries = 0;                  // the router fails over, the client does not retry
    o.common.timeouts.connect = 10s;                   // also bounds the wait for one of its 16 connections
    o.common.timeouts.first_byte = 10s;
    o.common.timeouts.total = 20s;
    o.common.timeouts.idle_read = 10s;
    return std::make_shared<OpenAiClient>(o);
  }

 private:
  TestResponse answer(const TestRequest& r) {
    calls_.fetch_add(1);
    const std::string tag = tag_of(r.body);
    const bool stream = r.body.find("\"stream\":true") != std::string::npos;
    int draw;
    {
      std::lock_guard lock(mutex_);
      draw = std::uniform_int_distribution<int>(0, 99)(rng_);
    }
    auto error = [](int status) {
      return TestResponse::json(R"({"error":{"message":"injected )" + std::to_string(status) + R"(","type":"server_error"}})",
                                status);
    };
    if (draw < 6) return error(500);
    if (draw < 9) return error(503);
    if (draw < 11) {
      TestResponse t = error(429);
      t.headers = {{"retry-after-ms", "30"}};
      return t;
    }
    if (draw < 14) {
      closes_.fetch_add(1);
      TestResponse t;
      t.fault = cnai::test::Fault::close_before_response;
      return t;
    }
    if (!stream) {
      TestResponse t = TestResponse::json(cnai::test::chat_body(answer_for(tag, k_)));
      if (draw < 24) t.delay_before_head = std::chrono::milliseconds(20 + draw * 3);  // slow first byte, within timeouts
      return t;
    }
    const auto pieces = pieces_for(tag, k_);
    if (draw < 16) {  // slower than the first_token timeout: fails over before any content
      TestResponse t = TestResponse::sse(cnai::test::stream_chunks(pieces));
      t.delay_before_head = kSlow * 300ms;
      return t;
    }
    if (draw < 20) {  // content, then the connection is reset: ends with an error, never spliced
      TestResponse t = TestResponse::sse(cnai::test::stream_chunks({pieces[0], pieces[1]}, false));
      t.fault = cnai::test::Fault::reset_after_chunks;
      return t;
    }
    if (draw < 23) {  // content, then a pause past the inter_chunk timeout
      const auto all = cnai::test::stream_chunks(pieces);
      std::string first = all[0] + all[1], rest;
      for (std::size_t i = 2; i < all.size(); ++i) rest += all[i];
      return TestResponse::sse({first, rest}, kSlow * 150ms);
    }
    TestResponse t = TestResponse::sse(cnai::test::stream_chunks(pieces));
    if (draw < 30) t.delay_before_head = std::chrono::milliseconds(draw);
    return t;
  }

  int k_;
  TestHttpServer server_;
  std::mutex mutex_;
  std::mt19937 rng_;
  std::atomic<int> calls_{0}, closes_{0};
};

struct Tally {
  std::mutex m;
  std::map<std::string, int> outcomes;  // "ok" or the error's code
  std::vector<std::string> problems;
  int attempts = 0;  // as the responses and errors report them
  int after_content = 0;  // errors that came after some of the answer was streamed
  void add(const std::string& outcome, int attempt_count) {
    std::lock_guard lock(m);
    ++outcomes[outcome];
    attempts += attempt_count;
  }
  void problem(std::string what) {
    std::lock_guard lock(m);
    if (problems.size() < 20) problems.push_back(std::move(what));
    ++outcomes["bad"];
  }
};

// The deployment index an answer's text names ("tag-7@d2 ..."), or -1.
int deployment_in(const std::string& text, const std::string& tag) {
  const std::string head = tag + "@d";
  if (text.rfind(head, 0) != 0 || text.size() <= head.size()) return -1;
  return text[head.size()] - '0';
}

void one_request(Router& router, int id, Tally& tally) {
  const std::string tag = fmt::format("tag-{}", id);
  const bool stream = id % 2 == 1;
  ChatRequest req;
  req.model = "chat";
  req.messages.push_back(Message::user(tag));
  req.max_tokens = 16;
  std::string streamed;
  int chunks_after_end = 0;
  bool ended = false;
  try {
    ChatResponse r = stream ? router.chat_stream(req, [&](const ChatChunk& c) {
                                if (ended) ++chunks_after_end;
                                streamed += c.delta_content;
                                return true;
                              })
                            : router.chat(req);
    ended = true;
    if (!r.route) return tally.problem(tag + ": no route info");
    const std::string& text = r.choices.at(0).message.content;
    const int k = deployment_in(text, tag);
    if (k < 0 || r.route->deployment != "d" + std::to_string(k) || text != answer_for(tag, k))
      return tally.problem(fmt::format("{}: served by {} with '{}'", tag, r.route->deployment, text));
    if (stream && streamed != text) return tally.problem(fmt::format("{}: streamed '{}' but answered '{}'", tag, streamed, text));
    tally.add("ok", static_cast<int>(r.route->attempts.size()));
  } catch (const RoutingError& e) {
    ended = true;
    // What reached the caller before the error is one deployment's answer, cut short.
    if (!streamed.empty()) {
      const int k = deployment_in(streamed, tag);
      if (k < 0 || answer_for(tag, k).rfind(streamed, 0) != 0 || streamed == answer_for(tag, k))
        return tally.problem(fmt::format("{}: error after '{}' (spliced?)", tag, streamed));
      std::lock_guard lock(tally.m);
      ++tally.after_content;
    }
    tally.add(std::string(to_string(e.code())), static_cast<int>(e.attempts().size()));
  } catch (const std::exception& e) {
    tally.problem(fmt::format("{}: untyped error: {}", tag, e.what()));
  }
  if (chunks_after_end) tally.problem(tag + ": chunks after the end");
}

}  // namespace

TEST_CASE("load: 1000 concurrent requests with random faults; one outcome each, nothing leaked") {
  std::vector<std::unique_ptr<FaultyCloud>> clouds;
  RouterSpec spec;
  for (int k = 0; k < 4; ++k) {
    clouds.push_back(std::make_unique<FaultyCloud>(k));
    Deployment d;
    d.name = "d" + std::to_string(k);
    d.backend = clouds.back()->client();
    d.model = "m";
    d.price = ModelPrice{1, 2, -1};
    d.timeouts.first_token = kSlow * 250ms;
    d.timeouts.inter_chunk = kSlow * 100ms;
    d.timeouts.total = 5s;
    d.limits.max_concurrency = 400;
    d.breaker.window_calls = 40;
    d.breaker.minimum_calls = 20;
    d.breaker.failure_rate = 0.6;
    d.breaker.cooldown = 20ms;
    spec.deployments.push_back(d);
  }
  AliasSpec chat;
  chat.name = "chat";
  chat.group.policy = std::make_shared<LeastBusyPolicy>();
  for (int k = 0; k < 4; ++k) chat.group.members.push_back({.deployment = "d" + std::to_string(k)});
  spec.aliases.push_back(chat);
  spec.max_wait = kSlow * 300ms;
  std::mutex observed_mutex;
  std::map<std::string, int> observed;
  spec.observer = [&](const RouteRecord& rec) {
    std::lock_guard lock(observed_mutex);
    ++observed[rec.error_code.empty() ? "ok" : rec.error_code];
  };
  auto router = Router::create(spec);

  const int n = 1000;
  auto round = [&](int first_id, Tally& tally) {
    std::latch start(n);
    std::vector<std::thread> threads;
    threads.reserve(n);
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();  // all at once
        one_request(*router, first_id + i, tally);
      });
    }
    for (auto& t : threads) t.join();
  };
  // What may stay: each client's idle pool (16 connections per origin). Each
  // has both ends in this process (two sockets), its own io_context (epoll,
  // eventfd and timerfd descriptors) and one test-server thread; and the
  // router's watchdog thread. A leak grows with the requests (2000 here).
  const std::size_t pool = 4 * 16;
  const FdCount fds0 = open_fds();
  const std::size_t threads0 = threads_now();
  auto within = [&](const FdCount& f, std::size_t threads) {
    return f.sockets <= fds0.sockets + 2 * pool && f.all - f.sockets <= fds0.all - fds0.sockets + 3 * pool + 2 &&
           threads <= threads0 + pool + 2;
  };
  auto settled = [&] {
    // The test servers close their side of dropped connections a moment later.
    for (int i = 0; i < 300 && !within(open_fds(), threads_now()); ++i) std::this_thread::sleep_for(10ms);
  };
  FdCount fds[2];
  std::size_t threads[2];
  Tally tally;
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < 2; ++r) {
    round(r * n, tally);
    settled();
    fds[r] = open_fds();
    threads[r] = threads_now();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::string summary;
  int total = 0;
  for (const auto& [k, v] : tally.outcomes) {
    summary += fmt::format(" {}={}", k, v);
    total += v;
  }
  int upstream_calls = 0, closes = 0;
  for (const auto& c : clouds) {
    upstream_calls += c->calls();
    closes += c->closes();
  }
  for (const auto& p : tally.problems) MESSAGE(p);
  MESSAGE(fmt::format("{} requests in {:.2f}s:{} ({} errors after content); {} attempts, {} upstream calls; fds {} -> {} -> {} (sockets {} -> {} -> {}), "
                      "threads {} -> {} -> {}",
                      2 * n, seconds, summary, tally.after_content, tally.attempts, upstream_calls, fds0.all, fds[0].all, fds[1].all, fds0.sockets,
                      fds[0].sockets, fds[1].sockets, threads0, threads[0], threads[1]));

  // Exactly one terminal outcome per request, none of them untyped or wrong.
  CHECK(tally.outcomes["bad"] == 0);
  CHECK(total == 2 * n);
  CHECK(tally.outcomes["ok"] > n / 2);  // most are served despite the faults
  // The faults reached callers as typed errors: after content (never spliced) and when nothing could serve.
  CHECK(tally.outcomes.size() >= 3);
  {
    std::lock_guard lock(observed_mutex);
    observed["bad"] = 0;
    CHECK(observed == tally.outcomes);  // the observer saw each request once, with its outcome
  }
  // Prometheus agrees: per outcome, and attempts = what the upstreams received.
  const auto metrics = cnai::test::parse_prometheus(router->metrics_text());
  for (const auto& [outcome, count] : tally.outcomes) {
    if (outcome == "bad") continue;
    CHECK_MESSAGE(metrics.value("cnai_router_alias_requests_total",
                                {{"alias", "chat"}, {"outcome", outcome == "ok" ? "served" : outcome}}) == count,
                  outcome);
  }
  CHECK(tally.after_content > 0);  // streams did break after content: they ended with an error, unspliced
  CHECK(metrics.value("cnai_router_stream_failures_after_content_total", {{"alias", "chat"}}) == tally.after_content);
  double attempts = 0;
  for (int k = 0; k < 4; ++k) attempts += metrics.value("cnai_router_requests_total", {{"cnai_deployment", "d" + std::to_string(k)}});
  CHECK(attempts == tally.attempts);
  // Every upstream call was an attempt, but for the client's one retry when a
  // pooled connection turns out closed (after a close_before_response fault);
  // an attempt that timed out waiting for a connection never reached a server.
  CHECK(upstream_calls - closes <= attempts);
  const double timed_out = metrics.value("cnai_router_errors_total", {{"error_type", "timeout"}});
  CHECK(attempts <= upstream_calls + timed_out);

  // Nothing left running or open.
  for (const DeploymentStatus& d : router->deployments()) CHECK(d.in_flight == 0);
  for (int r = 0; r < 2; ++r) CHECK(within(fds[r], threads[r]));
  CHECK(seconds < 30 * kSlow);
}
