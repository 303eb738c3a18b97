// End-to-end prefill (128-token batch) and decode-step throughput on the default
// model; skipped with a message when the model file is absent.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_env.hpp"
#include "cnai/model/model.hpp"

namespace {

std::string model_path() {
  if (const char* p = std::getenv("CNAI_MODEL"); p && *p) return p;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.cache/cnai/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

std::shared_ptr<cnai::Model> shared_model(benchmark::State& state) {
  static std::shared_ptr<cnai::Model> model;
  if (!model && std::filesystem::is_regular_file(model_path())) {
    cnai::ModelOptions o;
    o.threads = 2;
    cnai::bench::apply_env(o);  // CNAI_ISA, CNAI_PACK
    model = cnai::Model::load(model_path(), o);
  }
  if (!model) state.SkipWithError(("default model missing at " + model_path() + " (scripts/fetch_model.sh)").c_str());
  return model;
}

std::vector<std::int32_t> random_ids(int n, int n_vocab) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::int32_t> dist(0, n_vocab - 1);
  std::vector<std::int32_t> ids(static_cast<std::size_t>(n));
  for (auto& id : ids) id = dist(rng);
  return ids;
}

void BM_Prefill128(benchmark::State& state) {
  auto model = shared_model(state);
  if (!model) return;
  cnai::ContextOptions o;
  o.n_ctx = 256;
  cnai::Context ctx(model, o);
  const auto prompt = random_ids(128, model->config().n_vocab);
  for (auto _ : state) {
    ctx.reset();
    benchmark::DoNotOptimize(ctx.eval(prompt).data());
  }
  state.counters["tokens_per_s"] = benchmark::Counter(128.0 * static_cast<double>(state.iterations()),
                                                      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Prefill128)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_DecodeStep(benchmark::State& state) {
  auto model = shared_model(state);
  if (!model) return;
  cnai::ContextOptions o;
  o.n_ctx = 512;
  cnai::Context ctx(model, o);
  const auto prompt = random_ids(128, model->config().n_vocab);
  ctx.eval(prompt);
  const std::int32_t next = prompt[3];
  for (auto _ : state) {
    if (ctx.n_past() >= ctx.n_ctx()) ctx.truncate(128);  // decode at positions 128..511
    benchmark::DoNotOptimize(ctx.eval(std::span<const std::int32_t>(&next, 1)).data());
  }
  state.counters["tokens_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeStep)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
