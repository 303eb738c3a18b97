// row_kernels — the inner loops of CPU attention, softmax, swiglu and gelu: scores
// of a query against KV-cache rows, the weighted sum of value rows, and
// vectorised exp. One table per ISA (generic, AVX2, AVX-512), chosen at run time.
#pragma once

#include <cstdint>

#include "cnai/core/cpu_features.hpp"

namespace cnai::ops::cpu {

struct RowKernels {
  /// For nq queries sharing one KV head (q row r at q + r * head_dim):
  /// s[r * n + j] = scale * dot(q_r, k_j), j in [0, n); row j at k + j * stride.
  void (*scores_f32)(const float* q, std::int64_t nq, const float* k, std::int64_t stride,
                     std::int64_t n, std::int64_t head_dim, float scale, float* s);
  void (*scores_f16)(const float* q, std::int64_t nq, const std::uint16_t* k, std::int64_t stride,
                     std::int64_t n, std::int64_t head_dim, float scale, float* s);
  /// out[r * head_dim + i] = sum_j p[r * n + j] * v_j[i] for r in [0, nq).
  void (*mix_f32)(const float* p, std::int64_t nq, const float* v, std::int64_t stride,
                  std::int64_t n, std::int64_t head_dim, float* out);
  void (*mix_f16)(const float* p, std::int64_t nq, const std::uint16_t* v, std::int64_t stride,
                  std::int64_t n, std::int64_t head_dim, float* out);
  /// As mix, but out += the sum: the same chain of roundings as one mix over
  /// all rows, when the rows come in pieces (the blocks of a paged cache).
  void (*mix_acc_f32)(const float* p, std::int64_t nq, const float* v, std::int64_t stride,
                      std::int64_t n, std::int64_t head_dim, float* out);
  void (*mix_acc_f16)(const float* p, std::int64_t nq, const std::uint16_t* v, std::int64_t stride,
                      std::int64_t n, std::int64_t head_dim, float* out);
  /// max of p[0, n), n >= 1.
  float (*max)(const float* p, std::int64_t n);
  /// p[j] = exp(p[j] - max) in place; returns the sum.
  float (*exp_shifted)(float* p, std::int64_t n, float max);
  /// out[i] = silu(gate[i]) * up[i].
  void (*silu_mul)(const float* gate, const float* up, float* out, std::int64_t n);
  /// out[i] = gelu(x[i]) = x[i] / 2 * (1 + erf(x[i] / sqrt(2))) (out may be x).
  void (*gelu)(const float* x, float* out, std::int64_t n);
  const char* isa;
  /// out[i] = gelu_tanh(gate[i]) * up[i] (GeGLU), gelu_tanh(x) = x·sigmoid(2√(2/π)(x + 0.044715x³)).
  void (*gelu_mul)(const float* gate, const float* up, float* out, std::int64_t n);
};

const RowKernels& row_kernels_generic() noexcept;
// Defined only when the x86 kernels are built (CNAI_X86_KERNELS).
const RowKernels& row_kernels_avx2() noexcept;
const RowKernels& row_kernels_avx512() noexcept;

/// The table of one family (the generic one when that family is not built in;
/// check cnai::cpu_isa_available first to run it).
const RowKernels& row_kernels_for(CpuIsa isa) noexcept;

/// The table of cnai::active_cpu_isa() (core/cpu_features.hpp), the family
/// matmul uses too.
const RowKernels& row_kernels() noexcept;

}  // namespace cnai::ops::cpu
