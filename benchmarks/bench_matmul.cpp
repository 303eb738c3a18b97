// matmul kernels at the default model's shapes: GEMV (M=1, decode), batched
// decode (M=1..16 rows, one per running sequence) and GEMM (M=128, prefill)
// for Q4_0, Q4_1, Q8_0, Q5_0, Q5_1 and F16 weights, and the K-quants (Q3_K, Q4_K and Q6_K
// also packed)
// at the shapes llama-quantize gives them in SmolLM2 and Gemma 3 270M (rows of
// whole super-blocks), on 1 and 2 threads.
// Set CNAI_ISA=scalar|avx2|avx512 to force a kernel family.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_env.hpp"
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

bool pack_enabled() { return cnai::bench::repack_from_env(); }

// CNAI_ISA chooses the kernel family for the whole run (the library reads no
// environment itself).
[[maybe_unused]] const bool isa_chosen = [] {
  if (auto isa = cnai::bench::isa_from_env()) cnai::set_cpu_isa(*isa);
  return true;
}();

void BM_matmul(benchmark::State& state, DType t, bool pack) {
  const std::int64_t n = state.range(0), k = state.range(1), m = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  static std::unique_ptr<cnai::ThreadPool> pools[3];
  if (!pools[threads]) pools[threads] = std::make_unique<cnai::ThreadPool>(threads);
  const Tensor w = pack ? cnai::ops::pack_for_matmul(random_weight(t, n, k)) : random_weight(t, n, k);
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

BENCHMARK_CAPTURE(BM_matmul, q4_0, DType::Q4_0, false)->Apply(shapes);
BENCHMARK_CAPTURE(BM_matmul, q4_0_packed, DType::Q4_0, true)->Apply(shapes);
BENCHMARK_CAPTURE(BM_matmul, q4_1, DType::Q4_1, false)->Apply(shapes);
BENCHMARK_CAPTURE(BM_matmul, q4_1_packed, DType::Q4_1, true)->Apply(shapes);
BENCHMARK_CAPTURE(BM_matmul, q8_0, DType::Q8_0, false)->Apply(shapes);
BENCHMARK_CAPTURE(BM_matmul, q8_0_packed, DType::Q8_0, true)->Apply(shapes);
BENCHMARK_CAPTURE(BM_matmul, f16, DType::F16, false)->Apply(shapes);
BENCHMARK_CAPTURE(BM_matmul, q5_0, DType::Q5_0, false)->Apply(shapes);
BENCHMARK_CAPTURE(BM_matmul, q5_0_packed, DType::Q5_0, true)->Apply(shapes);
BENCHMARK_CAPTURE(BM_matmul, q5_1_packed, DType::Q5_1, true)->Apply(shapes);

// Batched decode (continuous batching): one row per running sequence, 1-16
// rows; weight_B/s shows whether the weights are still read once per step.
void batched(benchmark::internal::Benchmark* b) {
  const std::int64_t nk[][2] = {{576, 576}, {1536, 576}, {576, 1536}, {49152, 576}};
  for (std::int64_t m : {1, 2, 4, 8, 16})
    for (const auto& s : nk) b->Args({s[0], s[1], m, 2});
  b->ArgNames({"N", "K", "M", "threads"})->UseRealTime()->MinTime(0.05);
}
BENCHMARK_CAPTURE(BM_matmul, batched_q4_1_packed, DType::Q4_1, true)->Apply(batched);
BENCHMARK_CAPTURE(BM_matmul, batched_q8_0_packed, DType::Q8_0, true)->Apply(batched);

void kshapes(benchmark::internal::Benchmark* b) {
  const std::int64_t nk[][2] = {{576, 1536}, {640, 1024}, {640, 2048}};
  for (std::int64_t m : {1, 128})
    for (int threads : {1, 2})
      for (const auto& s : nk) b->Args({s[0], s[1], m, threads});
  b->ArgNames({"N", "K", "M", "threads"})->UseRealTime()->MinTime(0.05);
}
BENCHMARK_CAPTURE(BM_matmul, q2_k, DType::Q2_K, false)->Apply(kshapes);
BENCHMARK_CAPTURE(BM_matmul, q3_k, DType::Q3_K, false)->Apply(kshapes);
BENCHMARK_CAPTURE(BM_matmul, q3_k_packed, DType::Q3_K, true)->Apply(kshapes);
BENCHMARK_CAPTURE(BM_matmul, q4_k, DType::Q4_K, false)->Apply(kshapes);
BENCHMARK_CAPTURE(BM_matmul, q4_k_packed, DType::Q4_K, true)->Apply(kshapes);
BENCHMARK_CAPTURE(BM_matmul, q5_k, DType::Q5_K, false)->Apply(kshapes);
BENCHMARK_CAPTURE(BM_matmul, q6_k, DType::Q6_K, false)->Apply(kshapes);
BENCHMARK_CAPTURE(BM_matmul, q6_k_packed, DType::Q6_K, true)->Apply(kshapes);

// Every matmul of one forward step of the default model (30 layers: Q/K/V and
// gate/up as matmul_many, O, down; then the Q8_0 output matrix), with distinct
// weights per layer so they stream from memory as in real decode; packed as
// the model loader packs them unless CNAI_PACK=0.
struct ModelWeights {
  struct Layer {
    Tensor q, k, v, o, gate, up, down;
  };
  std::vector<Layer> layers;
  Tensor output;
  ModelWeights() {
    auto make = [](DType t, std::int64_t n, std::int64_t k) {
      Tensor w = random_weight(t, n, k);
      return pack_enabled() ? cnai::ops::pack_for_matmul(w) : w;
    };
    for (int l = 0; l < 30; ++l)
      layers.push_back(Layer{make(DType::Q4_1, 576, 576), make(DType::Q4_1, 192, 576), make(DType::Q4_1, 192, 576),
                             make(DType::Q4_1, 576, 576), make(DType::Q4_1, 1536, 576),
                             make(DType::Q4_1, 1536, 576), make(DType::Q4_1, 576, 1536)});
    output = make(DType::Q8_0, 49152, 576);
  }
};

void BM_model_step(benchmark::State& state) {
  const std::int64_t m = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  static ModelWeights weights;
  cnai::ThreadPool pool(threads);
  auto act = [m](std::int64_t n) { return Tensor::zeros(DType::F32, {m, n}); };
  Tensor x = act(576), q = act(576), k = act(192), v = act(192), o = act(576), g = act(1536), u = act(1536),
         h = act(1536), d = act(576);
  // Prefill wants the last position's logits; a batched decode step (third
  // argument 1) every row's.
  const std::int64_t out_rows = state.range(2) ? m : 1;
  Tensor x1 = Tensor::zeros(DType::F32, {out_rows, 576}), logits = Tensor::zeros(DType::F32, {out_rows, 49152});
  for (auto _ : state) {
    for (const auto& L : weights.layers) {
      const cnai::ops::MatmulTarget qkv[] = {{&L.q, &q}, {&L.k, &k}, {&L.v, &v}};
      cnai::ops::matmul_many(x, qkv, pool);
      cnai::ops::matmul(q, L.o, o, pool);
      const cnai::ops::MatmulTarget gate_up[] = {{&L.gate, &g}, {&L.up, &u}};
      cnai::ops::matmul_many(o, gate_up, pool);
      cnai::ops::matmul(h, L.down, d, pool);
    }
    cnai::ops::matmul(x1, weights.output, logits, pool);
    benchmark::DoNotOptimize(logits.data());
  }
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations() * m), benchmark::Counter::kIsRate);
  state.SetLabel(cnai::ops::matmul_isa());
}
BENCHMARK(BM_model_step)->ArgNames({"M", "threads", "decode"})->Args({1, 1, 1})->Args({1, 2, 1})->Args({128, 1, 0})
    ->Args({128, 2, 0})->Args({2, 2, 1})->Args({4, 2, 1})->Args({8, 2, 1})->Args({16, 2, 1})
    ->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
