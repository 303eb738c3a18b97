// Float GEMM, ours against Eigen's, at the default model's shapes: the
// evidence for keeping Eigen out of the library (DESIGN.md: "Eigen or our own
// where faster"). y[M,N] = x[M,K] · wᵀ with w [N,K] F32, and F16 for ours
// (Eigen has no fast F16 GEMM on the CPU). Built only when Eigen is installed.
// Eigen is compiled with -march=native (its SIMD is chosen at compile time)
// and runs on its OpenMP threads.
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include <memory>
#include <random>
#include <vector>

#include "cnai/ops/matmul.hpp"
#include "cnai/ops/quantize.hpp"

namespace {

using cnai::DType;
using cnai::Tensor;
using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<float> random_values(std::int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

cnai::ThreadPool& pool_of(int threads) {
  static std::unique_ptr<cnai::ThreadPool> pools[3];
  if (!pools[threads]) pools[threads] = std::make_unique<cnai::ThreadPool>(threads);
  return *pools[threads];
}

void set_flops(benchmark::State& state, std::int64_t m, std::int64_t n, std::int64_t k) {
  state.counters["FLOP/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * 2.0 * static_cast<double>(m * n * k),
                                                benchmark::Counter::kIsRate);
}

void BM_cnai(benchmark::State& state, DType t) {
  const std::int64_t n = state.range(0), k = state.range(1), m = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  const std::vector<float> wv = random_values(n * k, 42), xv = random_values(m * k, 1);
  Tensor w = Tensor::empty(t, {n, k});
  for (std::int64_t r = 0; r < n; ++r) cnai::ops::quantize_row(t, wv.data() + r * k, w.row_ptr(r), k);
  w = cnai::ops::pack_for_matmul(w);
  Tensor x = Tensor::empty(DType::F32, {m, k});
  std::copy(xv.begin(), xv.end(), x.data_as<float>());
  Tensor y = Tensor::empty(DType::F32, {m, n});
  for (auto _ : state) {
    cnai::ops::matmul(x, w, y, pool_of(threads));
    benchmark::DoNotOptimize(y.data());
  }
  set_flops(state, m, n, k);
  state.SetLabel(cnai::ops::matmul_isa());
}

void BM_eigen(benchmark::State& state) {
  const std::int64_t n = state.range(0), k = state.range(1), m = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  Eigen::setNbThreads(threads);
  const std::vector<float> wv = random_values(n * k, 42), xv = random_values(m * k, 1);
  const RowMajor w = Eigen::Map<const RowMajor>(wv.data(), n, k);
  const RowMajor x = Eigen::Map<const RowMajor>(xv.data(), m, k);
  RowMajor y(m, n);
  for (auto _ : state) {
    y.noalias() = x * w.transpose();
    benchmark::DoNotOptimize(y.data());
  }
  set_flops(state, m, n, k);
  state.SetLabel(Eigen::nbThreads() == threads ? "eigen" : "eigen (1 thread: no OpenMP)");
}

void shapes(benchmark::internal::Benchmark* b) {
  const std::int64_t nk[][2] = {{576, 576}, {1536, 576}, {576, 1536}, {49152, 576}};
  for (std::int64_t m : {1, 128})
    for (int threads : {1, 2})
      for (const auto& s : nk) b->Args({s[0], s[1], m, threads});
  b->ArgNames({"N", "K", "M", "threads"})->UseRealTime()->MinTime(0.1);
}

BENCHMARK_CAPTURE(BM_cnai, f32, DType::F32)->Apply(shapes);
BENCHMARK_CAPTURE(BM_cnai, f16, DType::F16)->Apply(shapes);
BENCHMARK(BM_eigen)->Apply(shapes);

}  // namespace
BENCHMARK_MAIN();
