// attention_rows — the inner loops of CPU attention over one KV head:
// scores of a query against cache rows, and the weighted sum of value rows.
// One implementation per ISA (generic, AVX2, AVX-512), chosen at run time.
#pragma once

#include <cstdint>

namespace cnai::ops::cpu {

struct AttentionRowKernels {
  /// s[j] = scale * dot(q, k_j) for j in [0, n); rows are head_dim floats or
  /// halves apart by `stride` elements.
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
  const char* isa;
};

const AttentionRowKernels& attention_row_kernels_generic() noexcept;
const AttentionRowKernels* attention_row_kernels_avx2() noexcept;    // null if not built
const AttentionRowKernels* attention_row_kernels_avx512() noexcept;  // null if not built

/// The best kernels this CPU supports.
const AttentionRowKernels& attention_row_kernels() noexcept;

}  // namespace cnai::ops::cpu
