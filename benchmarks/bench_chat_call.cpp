// What one LocalEngine chat call costs a C++ host, non-streaming and per
// streamed chunk: the baseline that benchmarks/python_overhead.py sets the
// Python surface (cnai.Client) against on the same model and requests. Run it
// on a tiny model (CNAI_MODEL; python_overhead.py writes one) so the forward
// pass is small and the per-call machinery shows.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <string>

#include "bench_env.hpp"
#include "cnai/engine/local_engine.hpp"

namespace {

std::shared_ptr<cnai::LocalEngine> engine(benchmark::State& state) {
  static std::shared_ptr<cnai::LocalEngine> e;
  if (!e && std::filesystem::is_regular_file(cnai::bench::model_path())) {
    cnai::LocalEngineOptions o;
    o.model.threads = 1;
    o.chatml_fallback = true;  // the tiny models carry no chat template
    e = cnai::LocalEngine::load(cnai::bench::model_path(), o);
  }
  if (!e) state.SkipWithError(("no model at " + cnai::bench::model_path()).c_str());
  return e;
}

// The request python_overhead.py sends: greedy, end-of-generation token 2 (the
// tiny models') banned so every call yields max_tokens tokens.
cnai::ChatRequest request(int max_tokens) {
  cnai::ChatRequest r;
  r.messages = {cnai::Message::user("Hi")};
  r.sampling.temperature = 0.0f;
  r.sampling.logit_bias[2] = -100.0f;
  r.max_tokens = max_tokens;
  return r;
}

void BM_chat_call(benchmark::State& state) {
  auto e = engine(state);
  if (!e) return;
  const cnai::ChatRequest r = request(1);
  for (auto _ : state) benchmark::DoNotOptimize(e->chat(r));
}
BENCHMARK(BM_chat_call)->Unit(benchmark::kMicrosecond);

void BM_chat_stream(benchmark::State& state) {
  auto e = engine(state);
  if (!e) return;
  const cnai::ChatRequest r = request(static_cast<int>(state.range(0)));
  std::int64_t chunks = 0;
  for (auto _ : state) {
    e->chat_stream(r, [&](const cnai::ChatChunk& c) {
      benchmark::DoNotOptimize(c.delta_content.data());
      ++chunks;
      return true;
    });
  }
  state.counters["chunks"] = benchmark::Counter(static_cast<double>(chunks), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_chat_stream)->Arg(1)->Arg(33)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
