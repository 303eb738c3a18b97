// row_kernels — the inner loops of CPU attention, softmax and swiglu: scores
// of a query against KV-cache rows, the weighted sum of value rows, and
// vectorised exp. One table per ISA (generic, AVX2, AVX-512), chosen at run time.
#pragma once

#include <cstdint>

namespace cnai::ops::cpu {

struct RowKernels {
  /// s[j] = scale * dot(q, k_j) for j in [0, n); row j starts at k + j * stride.
  void (*scores_f32)(const float* q, const float* k, std::int64_t stride, std::int64_t n,
                     std::int64_t head_dim, float scale, float* s);
  void (*scores_f16)(const float* q, const std::uint16_t* k, std::int64_t stride, std::int64_t n,
                     std::int64_t head_dim, float scale, float* s);
  /// out[0, head_dim) = sum_j p[j] * v_j.
  void (*mix_f32)(const float* p, const float* v, std::int64_t stride, std::int64_t n,
                  std::int64_t head_dim, float* out);
  void (*mix_f16)(const float* p, const std::uint16_t* v, std::int64_t stride, std::int64_t n,
                  std::int64_t head_dim, float* out);
  /// p[j] = exp(p[j] - max) in place; returns the sum.
  float (*exp_shifted)(float* p, std::int64_t n, float max);
  /// out[i] = silu(gate[i]) * up[i].
  void (*silu_mul)(const float* gate, const float* up, float* out, std::int64_t n);
  const char* isa;
};

const RowKernels& row_kernels_generic() noexcept;
const RowKernels& row_kernels_avx2() noexcept;
const RowKernels& row_kernels_avx512() noexcept;

/// The best table this CPU supports.
const RowKernels& row_kernels() noexcept;

}  // namespace cnai::ops::cpu
