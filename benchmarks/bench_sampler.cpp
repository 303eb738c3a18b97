// Sampler cost per generated token on a 49152-token vocabulary (SmolLM2) with
// normally distributed logits: greedy, the usual chat settings, top-p alone, and
// greedy with repetition/frequency/presence penalties over 64 accepted tokens.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "cnai/engine/sampler.hpp"

namespace {

constexpr int kVocab = 49152;
constexpr int kRows = 16;  // rotate through rows so caches and branch history see fresh data

std::vector<std::vector<float>> make_rows(float sd) {
  std::mt19937_64 rng(7);
  std::normal_distribution<float> dist(0.0f, sd);
  std::vector<std::vector<float>> rows(kRows, std::vector<float>(kVocab));
  for (auto& row : rows) {
    for (auto& x : row) x = dist(rng);
  }
  return rows;
}

void run(benchmark::State& state, cnai::SamplerConfig config, int accepted) {
  const auto rows = make_rows(static_cast<float>(state.range(0)));
  cnai::Sampler sampler(config, kVocab);
  for (int i = 0; i < accepted; ++i) sampler.accept(i * 97 % kVocab);
  std::size_t r = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(sampler.sample(rows[r]));
    r = (r + 1) % kRows;
  }
}

void BM_Greedy(benchmark::State& state) {
  cnai::SamplerConfig c;
  c.temperature = 0.0f;
  run(state, c, 0);
}

void BM_TopKTopPMinP(benchmark::State& state) {
  cnai::SamplerConfig c;
  c.temperature = 0.8f;
  c.top_k = 40;
  c.top_p = 0.95f;
  c.min_p = 0.05f;
  run(state, c, 0);
}

void BM_TopPOnly(benchmark::State& state) {
  cnai::SamplerConfig c;
  c.temperature = 1.0f;
  c.top_p = 0.95f;
  run(state, c, 0);
}

void BM_FullSoftmaxDraw(benchmark::State& state) {
  cnai::SamplerConfig c;
  run(state, c, 0);
}

void BM_GreedyWithPenalties(benchmark::State& state) {
  cnai::SamplerConfig c;
  c.temperature = 0.0f;
  c.repetition_penalty = 1.1f;
  c.frequency_penalty = 0.5f;
  c.presence_penalty = 0.5f;
  c.penalty_last_n = 64;
  run(state, c, 200);
}

void BM_ChatWithPenalties(benchmark::State& state) {
  cnai::SamplerConfig c;
  c.temperature = 0.8f;
  c.top_k = 40;
  c.top_p = 0.95f;
  c.min_p = 0.05f;
  c.repetition_penalty = 1.1f;
  c.frequency_penalty = 0.5f;
  c.presence_penalty = 0.5f;
  run(state, c, 200);
}

}  // namespace

// Argument: standard deviation of the logits (1: flat, many tokens in top-p; 4: peaked).
BENCHMARK(BM_Greedy)->Arg(1)->Arg(4)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TopKTopPMinP)->Arg(1)->Arg(4)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TopPOnly)->Arg(1)->Arg(4)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FullSoftmaxDraw)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GreedyWithPenalties)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ChatWithPenalties)->Arg(1)->Arg(4)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
