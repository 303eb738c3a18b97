// Benchmarks of the non-matmul ops at the default model's shapes
// (SmolLM2-135M: dim 576, 9 heads, 3 KV heads, head_dim 64).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "cnai/ops/attention.hpp"
#include "cnai/ops/paged_attention.hpp"
#include "cnai/ops/rms_norm.hpp"
#include "cnai/ops/rope.hpp"
#include "cnai/ops/softmax.hpp"
#include "cnai/ops/swiglu.hpp"

namespace {

cnai::Tensor filled(cnai::DType dt, const cnai::Shape& shape) {
  cnai::Tensor t = cnai::Tensor::empty(dt, shape);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  if (dt == cnai::DType::F32) {
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = dist(rng);
  } else {  // F16: small random halves (exponent 13..14, any mantissa)
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      t.data_as<std::uint16_t>()[i] = static_cast<std::uint16_t>(0x3400 + (rng() & 0x7FF));
    }
  }
  return t;
}

void BM_rms_norm_576(benchmark::State& st) {
  auto x = filled(cnai::DType::F32, {1, 576});
  auto w = filled(cnai::DType::F32, {576});
  auto y = cnai::Tensor::empty(cnai::DType::F32, {1, 576});
  for (auto _ : st) {
    cnai::ops::rms_norm(x, w, 1e-5f, y);
    benchmark::DoNotOptimize(y.data());
  }
}
BENCHMARK(BM_rms_norm_576);

void BM_rope_q_9x64(benchmark::State& st) {
  auto x = filled(cnai::DType::F32, {1, 9, 64});
  cnai::ops::RopeParams p;
  p.n_rot = 64;
  p.freq_base = 100000.0f;
  std::int32_t pos = 1234;
  for (auto _ : st) {
    cnai::ops::rope(x, {&pos, 1}, p);
    benchmark::DoNotOptimize(x.data());
  }
}
BENCHMARK(BM_rope_q_9x64);

void BM_softmax(benchmark::State& st) {
  auto x = filled(cnai::DType::F32, {1, st.range(0)});
  for (auto _ : st) {
    cnai::ops::softmax(x);
    benchmark::DoNotOptimize(x.data());
  }
  st.SetItemsProcessed(st.iterations() * st.range(0));
}
BENCHMARK(BM_softmax)->Arg(2048)->Arg(49152);

void BM_swiglu_1536(benchmark::State& st) {
  auto g = filled(cnai::DType::F32, {1, 1536});
  auto u = filled(cnai::DType::F32, {1, 1536});
  auto o = cnai::Tensor::empty(cnai::DType::F32, {1, 1536});
  for (auto _ : st) {
    cnai::ops::swiglu(g, u, o);
    benchmark::DoNotOptimize(o.data());
  }
}
BENCHMARK(BM_swiglu_1536);

cnai::ThreadPool& pool_of(std::int64_t threads) {
  static cnai::ThreadPool one(1);
  static cnai::ThreadPool all;
  return threads == 1 ? one : all;
}

// One decode step of one layer: T=1 query at position n-1 over n cached rows.
// Second argument: 1 = single thread (stable numbers on a busy machine), 0 = all cores.
void attention_decode(benchmark::State& st, cnai::DType cache_type) {
  cnai::ThreadPool& pool = pool_of(st.range(1));
  const std::int64_t n = st.range(0);
  auto q = filled(cnai::DType::F32, {1, 9, 64});
  auto k = filled(cache_type, {n, 3, 64});
  auto v = filled(cache_type, {n, 3, 64});
  auto out = cnai::Tensor::empty(cnai::DType::F32, {1, 9, 64});
  for (auto _ : st) {
    cnai::ops::attention(q, k, v, n - 1, 0.125f, out, pool);
    benchmark::DoNotOptimize(out.data());
  }
  st.SetItemsProcessed(st.iterations() * n * 9);
  st.counters["threads"] = pool.size();
}
void BM_attention_decode_f32(benchmark::State& st) { attention_decode(st, cnai::DType::F32); }
void BM_attention_decode_f16(benchmark::State& st) { attention_decode(st, cnai::DType::F16); }
BENCHMARK(BM_attention_decode_f32)->ArgsProduct({{64, 512, 2048, 8192}, {1, 0}});
BENCHMARK(BM_attention_decode_f16)->ArgsProduct({{64, 512, 2048, 8192}, {1, 0}});

// Prefill: 64 new tokens after 448 cached positions.
void BM_attention_prefill_f16_64(benchmark::State& st) {
  cnai::ThreadPool& pool = pool_of(1);
  auto q = filled(cnai::DType::F32, {64, 9, 64});
  auto k = filled(cnai::DType::F16, {512, 3, 64});
  auto v = filled(cnai::DType::F16, {512, 3, 64});
  auto out = cnai::Tensor::empty(cnai::DType::F32, {64, 9, 64});
  for (auto _ : st) {
    cnai::ops::attention(q, k, v, 448, 0.125f, out, pool);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_attention_prefill_f16_64);

// The same shapes over a paged cache of 16-row blocks, with the blocks in
// order (one run, as a Context's) or scattered in reverse (no two adjacent):
// what reading the cache block by block costs next to one contiguous run.
struct PagedCache {
  static constexpr std::int64_t kBlock = 16;
  cnai::Tensor k, v;
  std::vector<std::int32_t> blocks;
  PagedCache(cnai::DType type, std::int64_t n, bool scattered) {
    const std::int64_t n_blocks = (n + kBlock - 1) / kBlock;
    k = filled(type, {n_blocks * kBlock, 3, 64});
    v = filled(type, {n_blocks * kBlock, 3, 64});
    for (std::int64_t b = 0; b < n_blocks; ++b)
      blocks.push_back(static_cast<std::int32_t>(scattered ? n_blocks - 1 - b : b));
  }
  cnai::ops::PagedKv kv() const { return {&k, &v, kBlock}; }
};

// Third argument: 1 = scattered blocks, 0 = in order.
void paged_decode(benchmark::State& st, cnai::DType cache_type) {
  cnai::ThreadPool& pool = pool_of(st.range(1));
  const std::int64_t n = st.range(0);
  auto q = filled(cnai::DType::F32, {1, 9, 64});
  const PagedCache cache(cache_type, n, st.range(2) != 0);
  const cnai::ops::AttentionSpan span{cache.blocks, 0, n - 1};
  auto out = cnai::Tensor::empty(cnai::DType::F32, {1, 9, 64});
  for (auto _ : st) {
    cnai::ops::paged_attention(q, cache.kv(), {&span, 1}, 0.125f, out, pool);
    benchmark::DoNotOptimize(out.data());
  }
  st.SetItemsProcessed(st.iterations() * n * 9);
  st.counters["threads"] = pool.size();
}
void BM_paged_attention_decode_f32(benchmark::State& st) { paged_decode(st, cnai::DType::F32); }
void BM_paged_attention_decode_f16(benchmark::State& st) { paged_decode(st, cnai::DType::F16); }
BENCHMARK(BM_paged_attention_decode_f32)->ArgsProduct({{64, 512, 2048, 8192}, {1, 0}, {0, 1}});
BENCHMARK(BM_paged_attention_decode_f16)->ArgsProduct({{64, 512, 2048, 8192}, {1, 0}, {0, 1}});

void BM_paged_attention_prefill_f16_64(benchmark::State& st) {
  cnai::ThreadPool& pool = pool_of(1);
  auto q = filled(cnai::DType::F32, {64, 9, 64});
  const PagedCache cache(cnai::DType::F16, 512, st.range(0) != 0);
  std::vector<cnai::ops::AttentionSpan> spans;
  for (std::int64_t t = 0; t < 64; ++t) spans.push_back({cache.blocks, 0, 448 + t});
  auto out = cnai::Tensor::empty(cnai::DType::F32, {64, 9, 64});
  for (auto _ : st) {
    cnai::ops::paged_attention(q, cache.kv(), spans, 0.125f, out, pool);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_paged_attention_prefill_f16_64)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
