// matmul kernels at the default model's shapes: GEMV (M=1, decode) and GEMM
// (M=128, prefill) for Q4_1, Q8_0 and F16 weights, on 1 and 2 threads.
// Set CNAI_ISA=scalar|avx2|avx512 to force a kernel family.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <vector>

#include "cnai/ops/matmul.hpp"
#include "cnai/ops/quantize.hpp"

namespace {

using cnai::DType;
using cnai::Tensor;

Tensor random_weight(DType t, std::int64_t n, std::int64_t k) {
  Tensor w = Tensor::empty(t, {n, k});
  std::mt19937 rng(42);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  std::vector<float> row(static_cast<std::size_t>(k));
  for (std::int64_t r = 0; r < n; ++r) {
    for (auto& v : row) v = dist(rng);
    cnai::ops::quantize_row(t, row.data(), w.row_ptr(r), k);
  }
  return w;
}

void BM_matmul(benchmark::State& state, DType t) {
  const std::int64_t n = state.range(0), k = state.range(1), m = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  static std::unique_ptr<cnai::ThreadPool> pools[3];
  if (!pools[threads]) pools[threads] = std::make_unique<cnai::ThreadPool>(threads);
  const Tensor w = random_weight(t, n, k);
  Tensor x = Tensor::empty(DType::F32, {m, k});
  std::mt19937 rng(1);
  std::normal_distribution<float> dist;
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data_as<float>()[i] = dist(rng);
  Tensor y = Tensor::empty(DType::F32, {m, n});
  for (auto _ : state) {
    cnai::ops::matmul(x, w, y, *pools[threads]);
    benchmark::DoNotOptimize(y.data());
  }
  const auto iters = static_cast<double>(state.iterations());
  state.counters["weight_B/s"] = benchmark::Counter(iters * static_cast<double>(w.nbytes()), benchmark::Counter::kIsRate);
  state.counters["FLOP/s"] = benchmark::Counter(iters * 2.0 * static_cast<double>(m * n * k), benchmark::Counter::kIsRate);
  state.SetLabel(cnai::ops::matmul_isa());
}

void shapes(benchmark::internal::Benchmark* b) {
  const std::int64_t nk[][2] = {{576, 576}, {192, 576}, {1536, 576}, {576, 1536}, {49152, 576}};
  for (std::int64_t m : {1, 128})
    for (int threads : {1, 2})
      for (const auto& s : nk) b->Args({s[0], s[1], m, threads});
  b->ArgNames({"N", "K", "M", "threads"})->UseRealTime()->MinTime(0.05);
}

BENCHMARK_CAPTURE(BM_matmul, q4_1, DType::Q4_1)->Apply(shapes);
BENCHMARK_CAPTURE(BM_matmul, q8_0, DType::Q8_0)->Apply(shapes);
BENCHMARK_CAPTURE(BM_matmul, f16, DType::F16)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
