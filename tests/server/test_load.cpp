// Load: many concurrent clients against HttpServer over a faulty upstream
// (OpenAiClient -> TestHttpServer injecting 500s, dropped connections,
// delays): plain and streamed chat, slow readers behind a small stream
// buffer, clients that disconnect mid-request. Every request that was not
// abandoned gets exactly one well-formed answer — its own text, or an error
// status (429/503 refusals with Retry-After, 502/503 backend faults) —
// and afterwards no connection, request, descriptor or memory is left over.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "cnai/clients/openai_client.hpp"
#include "cnai/server/http_server.hpp"
#include "server/http_test_client.hpp"
#include "support/process_counters.hpp"
#include "support/test_http_server.hpp"

using namespace std::chrono_literals;
using cnai::test::FdCount;
using cnai::test::open_fds;
using cnai::test::RawClient;
using cnai::test::rss_kb;
using cnai::test::threads_now;

namespace {

// Upstream answers carry the request's own tag, so a spliced or swapped answer is seen.
std::string tag_of(const std::string& body) {
  const auto p = body.find("tag-");
  return p == std::string::npos ? "" : body.substr(p, body.find_first_of("\" \\", p) - p);
}

std::string chunk_sse(const std::string& text) {
  return "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":"
         "{\"content\":\"" + text + "\"},\"finish_reason\":null}]}\n\n";
}

struct Outcome {
  std::atomic<int> ok{0}, refused{0}, backend_error{0}, abandoned{0}, bad{0}, attempts_refused{0};
};

enum class Kind { plain, stream, slow_stream, disconnect };

enum class Result { done, refused };

Result one_attempt(std::uint16_t port, Kind kind, int id, Outcome& out, std::mutex& m, std::vector<std::string>& problems);

// A client that honours 429 + Retry-After (briefly, to keep the test short).
void one_request(std::uint16_t port, Kind kind, int id, Outcome& out, std::mutex& m, std::vector<std::string>& problems) {
  for (int attempt = 0; attempt < 40; ++attempt) {
    if (one_attempt(port, kind, id, out, m, problems) == Result::done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + attempt));
  }
  ++out.refused;
}

Result one_attempt(std::uint16_t port, Kind kind, int id, Outcome& out, std::mutex& m, std::vector<std::string>& problems) {
  const std::string tag = fmt::format("tag-{}", id);
  const bool streamed = kind != Kind::plain;
  const std::string body = fmt::format(R"({{"model":"m","messages":[{{"role":"user","content":"{}"}}]{}}})", tag,
                                       streamed ? ",\"stream\":true" : "");
  auto problem = [&](std::string what) {
    ++out.bad;
    std::lock_guard lock(m);
    if (problems.size() < 10) problems.push_back(std::move(what));
    return Result::done;
  };
  try {
    RawClient c(port);
    if (kind == Kind::slow_stream) {
      int small = 2048;
      // A small receive window makes the server's writes back up.
      (void)small;  // (set before connect would need a raw socket; the 3 ms pauses below make it slow)
    }
    c.send(cnai::test::http_request("POST", "/v1/chat/completions", body));
    if (kind == Kind::disconnect) {
      if (id % 2) c.read(30ms);  // some leave after the first bytes, some before any
      if (id % 3 == 0) c.reset(); else c.close();
      ++out.abandoned;
      return Result::done;
    }
    const std::string resp = c.read_http(20s, kind == Kind::slow_stream ? 3ms : 0ms);
    const int status = cnai::test::status_of(resp);
    const std::size_t heads = [&] {
      std::size_t n = 0;
      for (auto p = resp.find("HTTP/1.1 "); p != std::string::npos; p = resp.find("HTTP/1.1 ", p + 1)) ++n;
      return n;
    }();
    if (heads != 1) return problem(fmt::format("{}: {} responses", tag, heads));
    if (status == 200) {
      const std::string text = streamed ? resp : cnai::test::body_of(resp);
      if (tag_of(text) != tag) return problem(fmt::format("{}: answer carries '{}'", tag, tag_of(text)));
      if (streamed && (resp.find("data: [DONE]") == std::string::npos || resp.find("0\r\n\r\n") == std::string::npos)) {
        if (resp.find("\"error\"") == std::string::npos) return problem(fmt::format("{}: stream cut short", tag));
        ++out.backend_error;  // an in-stream error event, then the end
        return Result::done;
      }
      ++out.ok;
    } else if (status == 429 || status == 503) {
      if (resp.find("retry-after") == std::string::npos && resp.find("\"error\"") == std::string::npos) {
        return problem(fmt::format("{}: {} without Retry-After or error body", tag, status));
      }
      ++out.attempts_refused;
      if (status == 429) return Result::refused;
      ++out.backend_error;  // 503: the upstream was unavailable
    } else if (status == 502) {
      ++out.backend_error;
    } else {
      problem(fmt::format("{}: status {} ({})", tag, status, resp.substr(0, 200)));
    }
  } catch (const std::exception& e) {
    problem(fmt::format("{}: {}", tag, e.what()));
  }
  return Result::done;
}

}  // namespace

TEST_CASE("Load: concurrent clients, slow readers, disconnects and backend faults; nothing lost or leaked") {
  cnai::test::TestHttpServer upstream;
  std::atomic<int> upstream_calls{0};
  upstream.route("POST", "/v1/chat/completions", [&](const cnai::test::TestRequest& req) {
    const int n = ++upstream_calls;
    const std::string tag = tag_of(req.body);
    if (n % 13 == 0) return cnai::test::TestResponse::json(R"({"error":{"message":"injected"}})", 500);
    if (n % 17 == 0) {
      cnai::test::TestResponse r;
      r.fault = cnai::test::Fault::close_before_response;
      return r;
    }
    if (req.body.find("\"stream\":true") != std::string::npos) {
      std::vector<std::string> chunks;
      for (int i = 0; i < 40; ++i) chunks.push_back(chunk_sse(tag + " pad-pad-pad-pad-pad-pad-pad-pad"));
      chunks.push_back("data: [DONE]\n\n");
      return cnai::test::TestResponse::sse(chunks, 1ms);
    }
    auto r = cnai::test::TestResponse::json(
        R"({"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":")" +
        tag + R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})");
    r.delay_before_head = std::chrono::milliseconds(n % 5);
    return r;
  });
  cnai::OpenAiOptions uo;
  uo.base_url = upstream.base_url() + "/v1";
  uo.api_key = "sk-load-test";
  uo.common.retries.max_retries = 0;
  uo.common.timeouts.first_byte = 10s;
  cnai::OpenAiClient backend(uo);

  cnai::ServerOptions o;
  o.port = 0;
  o.io_threads = 2;
  o.compute_threads = 8;
  o.limits.max_queued = 8;
  o.limits.stream_buffer_bytes = 2048;  // slow readers hold their generation back
  o.limits.write_timeout = 5s;
  cnai::HttpServer server(backend, o);
  server.start();

  std::mutex m;
  std::vector<std::string> problems;
  auto round = [&](int clients, int per_client, Outcome& out) {
    std::vector<std::thread> threads;
    for (int t = 0; t < clients; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < per_client; ++i) {
          const int id = t * 1000 + i;
          const Kind kind = static_cast<Kind>((t + i) % 4 == 3 ? 3 : (t + i) % 7 == 0 ? 2 : (t + i) % 2);
          one_request(server.port(), kind, id, out, m, problems);
        }
      });
    }
    for (auto& th : threads) th.join();
  };

  // The upstream's idle pool: at most 16 connections to one host (the HTTP
  // client's default), two sockets each (both ends live in this process) and
  // one upstream thread each, whose event loop holds three more descriptors
  // (eventfd, epoll, timerfd). A leak grows with the requests (1440 here), far
  // past these bounds.
  const std::size_t pool = 16;
  FdCount fd_baseline;
  std::size_t thread_baseline = 0;
  auto within = [&](const FdCount& f, std::size_t threads) {
    return f.sockets <= fd_baseline.sockets + 2 * pool + 2 && f.others() <= fd_baseline.others() + 3 * (pool + 1) &&
           threads <= thread_baseline + pool + 1;
  };
  auto settled = [&] {
    for (int i = 0; i < 500 && (server.stats().connections > 0 || server.stats().in_flight > 0); ++i) {
      std::this_thread::sleep_for(10ms);
    }
    // Sockets the clients closed are torn down by the test upstream's own
    // threads a moment later; give them up to three seconds before counting.
    for (int i = 0; i < 300 && !within(open_fds(), threads_now()); ++i) std::this_thread::sleep_for(10ms);
  };
  // Two equal rounds: what the second leaves beyond the first is a leak
  // (the first fills pools and caches, e.g. the upstream's idle connections).
  const int clients = 48, per_client = 15;
  // [0]: before any request, [1] after the first round, [2] after the second.
  FdCount fds[3];
  std::size_t threads[3], rss[3];
  fds[0] = open_fds();
  fd_baseline = fds[0];
  threads[0] = threads_now();
  thread_baseline = threads[0];
  rss[0] = rss_kb();
  Outcome out;
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 1; r <= 2; ++r) {
    round(clients, per_client, out);
    settled();
    fds[r] = open_fds();
    threads[r] = threads_now();
    rss[r] = rss_kb();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int total = 2 * clients * per_client;

  for (const auto& p : problems) MESSAGE(p);
  MESSAGE(fmt::format("{} requests in {:.1f}s: {} ok, {} refused for good, {} backend errors, {} abandoned; "
                      "{} attempts refused 429/503 and retried; upstream calls {}; fds {} -> {} -> {} (sockets {} -> {} -> {}), threads {} -> {} -> {}, "
                      "RSS {} -> {} -> {} KiB",
                      total, seconds, out.ok.load(), out.refused.load(), out.backend_error.load(), out.abandoned.load(),
                      out.attempts_refused.load(), upstream_calls.load(), fds[0].all, fds[1].all, fds[2].all, fds[0].sockets, fds[1].sockets, fds[2].sockets, threads[0], threads[1],
                      threads[2], rss[0], rss[1], rss[2]));
  CHECK(out.bad == 0);
  CHECK(out.ok + out.refused + out.backend_error + out.abandoned == total);
  CHECK(out.ok > total / 2);
  CHECK(out.attempts_refused > 0);  // the pool did fill up: refusals came before work
  CHECK(out.backend_error > 0);     // the faults did reach clients, as errors
  CHECK(server.stats().connections == 0);
  CHECK(server.stats().in_flight == 0);
  // Leaks grow with the requests (1440 here); what may stay is bounded by the
  // upstream client's pool (above). The server's own threads are made at start().
  for (int r = 1; r <= 2; ++r) {
    CHECK(fds[r].sockets <= fds[0].sockets + 2 * pool + 2);  // and one connection still closing
    CHECK(fds[r].others() <= fds[0].others() + 3 * (pool + 1));
    CHECK(threads[r] <= threads[0] + pool + 1);
  }
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  CHECK(rss[2] < rss[1] + 32 * 1024);  // the first round fills allocator caches; the second may not grow past them  // sanitizers' shadow memory grows on its own
#endif
}
