// Server overhead: small non-streaming chat requests to an instant in-process
// backend, called directly vs through HttpServer over loopback HTTP/1.1
// keep-alive (1 and 8 clients), and through the server over a Router (what
// `cnai serve --config` runs). Counters: requests/s and the p50/p99 latency
// of each path; the differences are what the server and the router add.
//   build/benchmarks/cnai_bench_server --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <thread>

#include "cnai/api/json.hpp"
#include "cnai/router/router.hpp"
#include "cnai/server/http_server.hpp"
#include "cnai/server/router_serving.hpp"
#include "server/http_test_client.hpp"

namespace {

// Answers at once: what is measured is everything around the backend.
class InstantBackend final : public cnai::Backend {
 public:
  const std::string& name() const noexcept override { return name_; }
  cnai::BackendCapabilities capabilities() const override { return {}; }

 protected:
  cnai::ChatResponse do_chat(const cnai::ChatRequest& r, std::stop_token) override {
    cnai::ChatResponse out;
    out.id = "chatcmpl-1";
    out.model = r.model;
    cnai::Choice c;
    c.message = cnai::Message::assistant("Hello there");
    c.finish_reason = cnai::FinishReason::stop;
    out.choices.push_back(c);
    out.usage = {10, 2, 12, 0, 0};
    out.backend = name_;
    return out;
  }
  cnai::ChatResponse do_chat_stream(const cnai::ChatRequest& r, const cnai::ChunkCallback&, std::stop_token s) override {
    return do_chat(r, s);
  }

 private:
  std::string name_ = "instant";
};

const std::string kBody = R"({"model":"m","messages":[{"role":"user","content":"Say hello"}],"max_tokens":16})";

void report(benchmark::State& state, std::vector<double>& us) {
  std::sort(us.begin(), us.end());
  if (us.empty()) return;
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  state.counters["req_per_s"] = benchmark::Counter(static_cast<double>(us.size()), benchmark::Counter::kIsRate);
}

// Sends `request` over one keep-alive connection per benchmark thread, once
// per iteration, and times each answer.
void time_requests(benchmark::State& state, std::uint16_t port, const std::string& request) {
  cnai::test::RawClient client(port);
  std::vector<double> us;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    client.send(request);
    const std::string r = client.read_http(std::chrono::seconds(5));
    if (cnai::test::status_of(r) != 200) state.SkipWithError("non-200 answer");
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  report(state, us);
}

// The direct path also decodes the body and encodes the answer, as a host
// embedding the codecs would: the server's own share is what remains.
void BM_DirectBackendCall(benchmark::State& state) {
  InstantBackend backend;
  std::vector<double> us;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    cnai::ChatRequest req = cnai::chat_request_from_openai_json(kBody);
    std::string out = cnai::to_openai_json(backend.chat(req));
    benchmark::DoNotOptimize(out);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  report(state, us);
}
BENCHMARK(BM_DirectBackendCall);

void BM_ThroughServer(benchmark::State& state) {
  static InstantBackend backend;
  static std::unique_ptr<cnai::HttpServer> server;
  static std::once_flag once;
  std::call_once(once, [] {
    cnai::ServerOptions o;
    o.port = 0;
    o.io_threads = 1;
    o.compute_threads = 4;
    server = std::make_unique<cnai::HttpServer>(backend, o);
    server->start();
  });
  time_requests(state, server->port(), cnai::test::http_request("POST", "/v1/chat/completions", kBody));
}
BENCHMARK(BM_ThroughServer)->Threads(1)->Threads(8)->UseRealTime();

// What `cnai serve --config` runs: the server over a Router (one alias, one
// deployment on the instant backend), with serve_router's options; the
// request names no model, so the default alias is filled in too.
void BM_ThroughServerAndRouter(benchmark::State& state) {
  static std::shared_ptr<cnai::Router> router;
  static std::unique_ptr<cnai::HttpServer> server;
  static std::once_flag once;
  std::call_once(once, [] {
    cnai::RouterSpec spec;
    cnai::Deployment d;
    d.name = "instant";
    d.backend = std::make_shared<InstantBackend>();
    spec.deployments.push_back(d);
    cnai::AliasSpec a;
    a.name = "chat";
    a.group.members.push_back({.deployment = "instant"});
    spec.aliases.push_back(a);
    router = cnai::Router::create(std::move(spec));
    cnai::ServerOptions o;
    o.port = 0;
    o.io_threads = 1;
    o.compute_threads = 4;
    cnai::serve_router(o, router, "chat");
    server = std::make_unique<cnai::HttpServer>(*router, o);
    server->start();
  });
  time_requests(state, server->port(),
                cnai::test::http_request("POST", "/v1/chat/completions",
                                         R"({"messages":[{"role":"user","content":"Say hello"}],"max_tokens":16})"));
}
BENCHMARK(BM_ThroughServerAndRouter)->Threads(1)->Threads(8)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
