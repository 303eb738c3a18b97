// The machine's memory read bandwidth, the ceiling of decode at small batch:
// every step reads every weight byte once (DESIGN.md), so a model's decode
// tokens/s can not pass bandwidth / weight bytes. benchmarks/compare_llama_bench.py
// prints each tool's decode traffic (file bytes x tokens/s) to set beside this.
// Each of T threads streams its own 1/T of a 1 GiB buffer (far past the L3).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <numeric>

namespace {

constexpr std::size_t kBytes = std::size_t{1} << 30;

const std::uint64_t* buffer() {
  static const std::unique_ptr<std::uint64_t[]> b = [] {
    auto p = std::make_unique<std::uint64_t[]>(kBytes / 8);
    std::memset(p.get(), 1, kBytes);  // touch every page before timing
    return p;
  }();
  return b.get();
}

void BM_StreamRead(benchmark::State& state) {
  const std::uint64_t* b = buffer();
  const std::size_t n = kBytes / 8 / static_cast<std::size_t>(state.threads());
  const std::uint64_t* mine = b + n * static_cast<std::size_t>(state.thread_index());
  for (auto _ : state) {
    // Four independent sums: the loop is bound by loads, not by an add chain.
    std::uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (std::size_t i = 0; i < n; i += 4) {
      s0 += mine[i];
      s1 += mine[i + 1];
      s2 += mine[i + 2];
      s3 += mine[i + 3];
    }
    benchmark::DoNotOptimize(s0 + s1 + s2 + s3);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n * 8));
}
BENCHMARK(BM_StreamRead)->Threads(1)->Threads(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
