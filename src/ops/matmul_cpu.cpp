// CPU matmul driver: picks the kernel family (ISA) at run time, quantizes the
// activations once into reusable scratch, and splits output rows over the pool.
#include "ops/matmul_cpu.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cnai/core/cpu_features.hpp"
#include "cnai/core/error.hpp"
#include "cnai/ops/quantize.hpp"
#include "ops/kquant_unpack.hpp"
#include "ops/matmul_kernels.hpp"
#include "ops/matmul_pack.hpp"
#include "ops/quant_blocks.hpp"

namespace cnai::ops {
namespace {

// The family core's CPU detector chose (one choice for every kernel table).
const MatmulKernels& family_for(CpuIsa isa) {
#if CNAI_X86_KERNELS
  if (isa == CpuIsa::avx512) return *matmul_kernels_avx512();
  if (isa == CpuIsa::avx2) return *matmul_kernels_avx2();
#endif
  (void)isa;
  return matmul_kernels_scalar();
}

// Grow-only scratch: no allocation once the largest shape has been seen.
struct ActScratch {
  std::vector<std::int8_t> qs;
  std::vector<float> d, s;
  std::vector<std::int32_t> qsum;
  ActQ8 view(std::int64_t m, std::int64_t k) {
    const auto nq = static_cast<std::size_t>(m * k), nb = static_cast<std::size_t>(m * (k / kQK));
    if (qs.size() < nq) qs.resize(nq);
    if (d.size() < nb) { d.resize(nb); s.resize(nb); qsum.resize(nb); }
    return ActQ8{qs.data(), d.data(), s.data(), k, qsum.data()};
  }
};

// Q8_K activations for the K-quants, grow-only like ActScratch.
struct ActScratchK {
  std::vector<std::int8_t> qs;
  std::vector<float> d;
  std::vector<std::int16_t> bsums;
  ActQ8K view(std::int64_t m, std::int64_t k) {
    const auto nq = static_cast<std::size_t>(m * k), nb = static_cast<std::size_t>(m * (k / kQK_K));
    if (qs.size() < nq) qs.resize(nq);
    if (d.size() < nb) { d.resize(nb); bsums.resize(nb * 16); }
    return ActQ8K{qs.data(), d.data(), bsums.data(), k};
  }
};

bool is_q8_packed(DType t) { return is_packed(t) && !is_packed_k(t); }

bool is_q8_weight(DType t) {
  return t == DType::Q4_0 || t == DType::Q4_1 || t == DType::Q5_0 || t == DType::Q5_1 || t == DType::Q8_0 ||
         is_q8_packed(t);
}

KQuantTileFn k_tile_for(const MatmulKernels& k, DType t) {
  switch (t) {
    case DType::Q2_K: return k.q2_k;
    case DType::Q3_K: return k.q3_k;
    case DType::Q4_K: return k.q4_k;
    case DType::Q5_K: return k.q5_k;
    case DType::Q4_K_R16: return k.q4_k_r16;
    case DType::Q6_K_R16: return k.q6_k_r16;
    case DType::Q3_K_R16: return k.q3_k_r16;
    default: return k.q6_k;
  }
}

void fill_qsum(const ActQ8& xq, std::int64_t m) {
  const std::int64_t nb = m * (xq.k / kQK);
  for (std::int64_t b = 0; b < nb; ++b) {
    std::int32_t sum = 0;
    for (int j = 0; j < kQK; ++j) sum += xq.qs[b * kQK + j];
    xq.qsum[b] = sum;
  }
}

QuantTileFn quant_tile_for(const MatmulKernels& k, DType t) {
  switch (t) {
    case DType::Q4_0: return k.q4_0;
    case DType::Q4_1: return k.q4_1;
    case DType::Q5_0: return k.q5_0;
    case DType::Q5_1: return k.q5_1;
    case DType::Q4_1_R16: return k.q4_1_r16;
    case DType::Q8_0_R16: return k.q8_0_r16;
    case DType::Q5_0_R16: return k.q5_0_r16;
    case DType::Q4_0_R16: return k.q4_0_r16;
    case DType::Q5_1_R16: return k.q5_1_r16;
    default: return k.q8_0;
  }
}

// A packed matrix with a family that has no packed kernel (a forced ISA):
// unpack a group at a time into per-thread scratch and use the plain kernel.
void unpacked_rows(const MatmulKernels& k, const ActQ8& xq, const ActQ8K& xk, std::int64_t m, const Tensor& w,
                   std::int64_t n0, std::int64_t n1, float* y, std::int64_t ldy) {
  const DType base = packed_base(w.dtype());
  const std::int64_t K = w.dim(-1);
  const std::size_t rb = row_bytes(base, K);
  thread_local std::vector<std::uint8_t> buf;
  if (buf.size() < kPackRows * rb) buf.resize(kPackRows * rb);
  for (std::int64_t n = n0; n < n1; n += kPackRows) {
    const std::int64_t cnt = std::min(kPackRows, n1 - n);
    for (std::int64_t r = 0; r < cnt; ++r)
      unpack_row(w.dtype(), w.data_as<std::uint8_t>(), K, n + r, buf.data() + static_cast<std::size_t>(r) * rb);
    const WeightRows rows{buf.data(), rb, 0, cnt};
    if (is_k_quant(base)) k_tile_for(k, base)(xk, m, rows, y + n, ldy);
    else quant_tile_for(k, base)(xq, m, rows, y + n, ldy);
  }
}

void run_rows(const MatmulKernels& k, const Tensor& x, const ActQ8& xq, const ActQ8K& xk, const MatmulTarget& t,
              std::int64_t n0, std::int64_t n1) {
  const Tensor& w = *t.w;
  const std::int64_t M = x.rows(), K = x.dim(-1), N = w.dim(0);
  float* y = t.y->data_as<float>();
  const WeightRows rows{w.row_ptr(0), w.row_bytes(), n0, n1};
  const float* xf = x.data_as<float>();
  if (is_packed(w.dtype())) {
    const WeightRows groups{w.data_as<std::uint8_t>(), packed_group_bytes(w.dtype(), K), n0, n1};
    if (is_packed_k(w.dtype()) && k_tile_for(k, w.dtype())) {
      k_tile_for(k, w.dtype())(xk, M, groups, y, N);
    } else if (!is_packed_k(w.dtype()) && quant_tile_for(k, w.dtype())) {
      quant_tile_for(k, w.dtype())(xq, M, groups, y, N);
    } else {
      unpacked_rows(k, xq, xk, M, w, n0, n1, y, N);
    }
  } else switch (w.dtype()) {
    case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: case DType::Q5_1: case DType::Q8_0:
      quant_tile_for(k, w.dtype())(xq, M, rows, y, N);
      break;
    case DType::F32: k.f32(xf, K, M, K, rows, y, N); break;
    case DType::F16: k.f16(xf, K, M, K, rows, y, N); break;
    case DType::BF16: k.bf16(xf, K, M, K, rows, y, N); break;
    default: k_tile_for(k, w.dtype())(xk, M, rows, y, N); break;
  }
  if (t.bias) {
    const float* b = t.bias->data_as<float>();
    for (std::int64_t i = 0; i < M; ++i)
      for (std::int64_t n = n0; n < n1; ++n) y[i * N + n] += b[n];
  }
}

}  // namespace

const MatmulKernels& matmul_kernels() { return family_for(active_cpu_isa()); }

bool force_matmul_isa(const char* name) {
  if (!name) {
    set_cpu_isa(std::nullopt);
    return true;
  }
  const auto isa = cpu_isa_from_string(name);
  if (!isa || !cpu_isa_available(*isa)) return false;
  set_cpu_isa(*isa);
  return true;
}

const char* matmul_isa() { return matmul_kernels().name; }

void matmul_many_cpu(const Tensor& x, std::span<const MatmulTarget> targets, ThreadPool& pool) {
  const MatmulKernels& k = matmul_kernels();
  const std::int64_t M = x.rows(), K = x.dim(-1);
  thread_local ActScratch scratch;
  ActQ8 xq{};
  if (std::any_of(targets.begin(), targets.end(), [](const MatmulTarget& t) { return is_q8_weight(t.w->dtype()); })) {
    xq = scratch.view(M, K);
    // On the caller alone: a few µs even for prefill-sized x, and a second
    // pool dispatch costs more than that whenever the machine is busy.
    k.quantize_act(x.data_as<float>(), M, K, xq);
    if (std::any_of(targets.begin(), targets.end(), [](const MatmulTarget& t) { return is_q8_packed(t.w->dtype()); }))
      fill_qsum(xq, M);
  }
  thread_local ActScratchK scratch_k;
  ActQ8K xk{};
  if (std::any_of(targets.begin(), targets.end(), [](const MatmulTarget& t) {
        return is_k_quant(t.w->dtype()) || is_packed_k(t.w->dtype());
      })) {
    xk = scratch_k.view(M, K);
    k.quantize_act_k(x.data_as<float>(), M, K, xk);
  }
  // Work is split in tiles of 16 rows of one target (a packed group).
  auto tiles = [](const MatmulTarget& t) { return (t.w->dim(0) + kPackRows - 1) / kPackRows; };
  std::int64_t total = 0;
  for (const auto& t : targets) total += tiles(t);
  auto process = [&](std::int64_t b, std::int64_t e) {
    std::int64_t base = 0;
    for (const auto& t : targets) {
      const std::int64_t n = tiles(t), N = t.w->dim(0);
      const std::int64_t t0 = std::max<std::int64_t>(b - base, 0), t1 = std::min<std::int64_t>(e - base, n);
      if (t0 < t1) run_rows(k, x, xq, xk, t, t0 * kPackRows, std::min(t1 * kPackRows, N));
      base += n;
    }
  };
  // Each share owns a contiguous range of tiles, so every thread streams its
  // weights in order (prefetchers follow one run far better than chunks dealt
  // round-robin); a share done with its range takes chunks from the others',
  // so a worker that starts late (busy machine) just does less.
  const std::int64_t chunk = std::clamp<std::int64_t>(total / (8 * pool.size()), 1, 16);
  if (pool.size() == 1 || total <= chunk) return process(0, total);
  struct alignas(64) Range {
    std::atomic<std::int64_t> next;
    std::int64_t end;
  };
  constexpr int kMaxRanges = 16;
  const int n_ranges = std::min(pool.size(), kMaxRanges);
  Range ranges[kMaxRanges];
  for (int r = 0; r < n_ranges; ++r) {
    ranges[r].next.store(total * r / n_ranges, std::memory_order_relaxed);
    ranges[r].end = total * (r + 1) / n_ranges;
  }
  pool.run([&](int share, int) {
    for (int i = 0; i < n_ranges; ++i) {
      Range& r = ranges[(share + i) % n_ranges];
      for (std::int64_t b; (b = r.next.fetch_add(chunk, std::memory_order_relaxed)) < r.end;)
        process(b, std::min(b + chunk, r.end));
    }
  });
}

}  // namespace cnai::ops
