// What the Router adds per request: the same OpenAiClient called directly and
// through a one-deployment Router, against the same loopback server, plain and
// streamed, with 1, 4 and 16 calling threads. Each iteration makes one direct
// call and one routed call (in alternating order), so both see the same
// machine state; the counters are percentiles over every thread's samples:
//   direct_p50_us / direct_p99_us   the client alone
//   routed_p50_us / routed_p99_us   the same client through the router
//   added_p50_us  / added_p99_us    routed minus direct, percentile by percentile
//   self_p50_us   / self_p99_us     RouteInfo::router_overhead_us (the router's own
//                                   time, its backend's excluded), per response
// CNAI_BENCH_ROUTER_URL sends both to another OpenAI-compatible server.
// BM_null_backend measures the router over an in-process backend that answers
// at once: nothing but the router's own work.
#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_stats.hpp"
#include "bench_upstream.hpp"
#include "cnai/clients/openai_client.hpp"
#include "cnai/router/router.hpp"

using cnai::bench::percentile;
using cnai::bench::upstream;
using Clock = std::chrono::steady_clock;

namespace {

// CNAI_BENCH_ROUTER_URL (".../v1") points both calls at another server
// (benchmarks/litellm_router_overhead.py runs LiteLLM's Router on the same one).
std::string base_url() {
  if (const char* url = std::getenv("CNAI_BENCH_ROUTER_URL"); url && *url) return url;
  return upstream().base_url() + "/v1";
}

std::shared_ptr<cnai::OpenAiClient> client() {
  static std::shared_ptr<cnai::OpenAiClient> c = [] {
    cnai::OpenAiOptions o;
    o.base_url = base_url();
    o.api_key = "test";
    o.common.retries.max_retries = 0;
    return std::make_shared<cnai::OpenAiClient>(o);
  }();
  return c;
}

// A router as a host would configure one: a deployment with a price, limits,
// timeouts and a breaker, behind an alias with a cost policy.
std::shared_ptr<cnai::Router> router_over(std::shared_ptr<cnai::Backend> backend) {
  cnai::RouterSpec s;
  cnai::Deployment d;
  d.name = "cloud";
  d.backend = std::move(backend);
  d.model = "gpt-4o-mini";
  d.price = cnai::ModelPrice{0.15, 0.60, -1};
  d.limits.max_concurrency = 1000;
  d.limits.requests_per_minute = 1e9;
  s.deployments.push_back(d);
  cnai::AliasSpec a;
  a.name = "chat";
  a.group.policy = std::make_shared<cnai::CostPolicy>();
  a.group.members = {{.deployment = "cloud"}};
  s.aliases.push_back(a);
  return cnai::Router::create(s);
}

cnai::ChatRequest small_request(const std::string& model) {
  cnai::ChatRequest request;
  request.model = model;
  request.messages = {cnai::Message::user("Hello there, how are you?")};
  request.max_tokens = 32;
  return request;
}

// Samples per calling thread, written only by that thread inside the timed
// loop; read by all after it (Google Benchmark joins the threads' loops).
struct Samples {
  std::vector<double> direct, routed, self;
};
std::array<Samples, 64> g_samples;

double us_since(Clock::time_point t) { return std::chrono::duration<double, std::micro>(Clock::now() - t).count(); }

void report(benchmark::State& state) {
  std::vector<double> direct, routed, self;
  for (int t = 0; t < state.threads(); ++t) {
    const Samples& s = g_samples[static_cast<std::size_t>(t)];
    direct.insert(direct.end(), s.direct.begin(), s.direct.end());
    routed.insert(routed.end(), s.routed.begin(), s.routed.end());
    self.insert(self.end(), s.self.begin(), s.self.end());
  }
  // Every thread sets the same values; kAvgThreads reports them as they are.
  auto set = [&](const char* name, double v) { state.counters[name] = benchmark::Counter(v, benchmark::Counter::kAvgThreads); };
  const double d50 = percentile(direct, 0.50), d99 = percentile(direct, 0.99);
  const double r50 = percentile(routed, 0.50), r99 = percentile(routed, 0.99);
  set("direct_p50_us", d50);
  set("direct_p99_us", d99);
  set("routed_p50_us", r50);
  set("routed_p99_us", r99);
  set("added_p50_us", r50 - d50);
  set("added_p99_us", r99 - d99);
  set("self_p50_us", percentile(self, 0.50));
  set("self_p99_us", percentile(self, 0.99));
}

void BM_router_added(benchmark::State& state) {
  const bool stream = state.range(0) != 0;
  static std::shared_ptr<cnai::Router> router = router_over(client());
  Samples& mine = g_samples[static_cast<std::size_t>(state.thread_index())];
  mine = {};
  for (auto* v : {&mine.direct, &mine.routed, &mine.self}) v->reserve(static_cast<std::size_t>(state.max_iterations));
  cnai::ChatRequest direct_req = small_request("gpt-4o-mini");
  cnai::ChatRequest routed_req = small_request("chat");
  std::size_t chunks = 0;
  const cnai::ChunkCallback count = [&chunks](const cnai::ChatChunk&) {
    ++chunks;
    return true;
  };
  auto direct = [&] {
    const auto t0 = Clock::now();
    cnai::ChatResponse r = stream ? client()->chat_stream(direct_req, count) : client()->chat(direct_req);
    mine.direct.push_back(us_since(t0));
    benchmark::DoNotOptimize(r);
  };
  auto routed = [&] {
    const auto t0 = Clock::now();
    cnai::ChatResponse r = stream ? router->chat_stream(routed_req, count) : router->chat(routed_req);
    mine.routed.push_back(us_since(t0));
    mine.self.push_back(r.route->router_overhead_us);
    benchmark::DoNotOptimize(r);
  };
  bool direct_first = state.thread_index() % 2 == 0;
  for (auto _ : state) {
    if (direct_first) {
      direct();
      routed();
    } else {
      routed();
      direct();
    }
    direct_first = !direct_first;
  }
  if (stream && chunks < 2 * 20 * static_cast<std::size_t>(state.iterations())) state.SkipWithError("incomplete streams");
  state.SetItemsProcessed(state.iterations() * 2);
  report(state);
}

// A backend that answers at once, in process: the router's own cost alone.
class NullBackend final : public cnai::Backend {
 public:
  const std::string& name() const noexcept override { return name_; }
  cnai::BackendCapabilities capabilities() const override { return {}; }

 protected:
  cnai::ChatResponse do_chat(const cnai::ChatRequest&, std::stop_token) override { return reply(); }
  cnai::ChatResponse do_chat_stream(const cnai::ChatRequest&, const cnai::ChunkCallback& on_chunk, std::stop_token) override {
    cnai::ChatChunk c;
    c.delta_role = cnai::Role::assistant;
    on_chunk(c);
    c.delta_role.reset();
    for (int i = 0; i < 20; ++i) {
      c.delta_content = "tok ";
      on_chunk(c);
    }
    return reply();
  }

 private:
  static cnai::ChatResponse reply() {
    cnai::ChatResponse r;
    r.choices.resize(1);
    r.choices[0].message = cnai::Message::assistant("Hello! I am fine, thanks.");
    r.usage.prompt_tokens = 12;
    r.usage.completion_tokens = 8;
    r.usage.total_tokens = 20;
    return r;
  }
  std::string name_ = "null";
};

void BM_null_backend(benchmark::State& state) {
  const bool stream = state.range(0) != 0;
  static std::shared_ptr<NullBackend> backend = std::make_shared<NullBackend>();
  static std::shared_ptr<cnai::Router> router = router_over(backend);
  Samples& mine = g_samples[static_cast<std::size_t>(state.thread_index())];
  mine = {};
  for (auto* v : {&mine.direct, &mine.routed, &mine.self}) v->reserve(static_cast<std::size_t>(state.max_iterations));
  const cnai::ChatRequest direct_req = small_request("gpt-4o-mini");
  const cnai::ChatRequest routed_req = small_request("chat");
  const cnai::ChunkCallback ignore = [](const cnai::ChatChunk&) { return true; };
  for (auto _ : state) {
    auto t0 = Clock::now();
    cnai::ChatResponse d = stream ? backend->chat_stream(direct_req, ignore) : backend->chat(direct_req);
    mine.direct.push_back(us_since(t0));
    t0 = Clock::now();
    cnai::ChatResponse r = stream ? router->chat_stream(routed_req, ignore) : router->chat(routed_req);
    mine.routed.push_back(us_since(t0));
    mine.self.push_back(r.route->router_overhead_us);
    benchmark::DoNotOptimize(d);
    benchmark::DoNotOptimize(r);
  }
  report(state);
}

}  // namespace

BENCHMARK(BM_router_added)->ArgName("stream")->Arg(0)->Arg(1)->Threads(1)->Threads(4)->Threads(16)->Iterations(2000)->UseRealTime();
BENCHMARK(BM_null_backend)->ArgName("stream")->Arg(0)->Arg(1)->Threads(1)->Threads(4)->Threads(16)->Iterations(20000)->UseRealTime();
BENCHMARK_MAIN();
