// matmul — y = x · wᵀ (+ bias), the op every linear layer uses.
// x: F32 [M, K]; w: [N, K] (one row per output, as GGUF stores weights) in
// F32, F16, BF16, Q4_0, Q4_1, Q8_0 (and K-quants where supported); y: F32 [M, N].
// Quantized weights: activations are quantized once per row and dotted with
// integer SIMD (AVX-512 VNNI / AVX2 / portable, chosen at run time).
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "cnai/core/thread_pool.hpp"
#include "cnai/tensor/tensor.hpp"

namespace cnai::ops {

/// y = x · wᵀ (+ bias F32 [N] if given). y must be preallocated F32 [M, N].
void matmul(const Tensor& x, const Tensor& w, Tensor& y, ThreadPool& pool,
            const Tensor* bias = nullptr);

struct MatmulTarget {
  const Tensor* w;
  Tensor* y;
  const Tensor* bias = nullptr;
};

/// Several products with the same x in one pool dispatch (e.g. Q, K and V, or
/// gate and up): x is quantized once and the threads share all the rows.
void matmul_many(const Tensor& x, std::span<const MatmulTarget> targets, ThreadPool& pool);

/// w in the layout the kernels in use read fastest (Q4_1/Q8_0 -> 16-row
/// interleaved Q4_1_R16/Q8_0_R16 with AVX-512), in new memory; or w itself when
/// no packed kernel exists. For weights that stay on the CPU, once at load.
Tensor pack_for_matmul(const Tensor& w);

/// Packs several matrices into one allocation (huge pages when large): the
/// result i is ws[i] packed, a copy for float matrices (F32/F16/BF16: same
/// layout, in huge pages), or *ws[i] itself. on_packed(source) runs after
/// each matrix is packed or copied (e.g. to release its pages).
std::vector<Tensor> pack_for_matmul(std::span<const Tensor* const> ws,
                                    const std::function<void(const Tensor&)>& on_packed);

/// True when `matmul` takes weights of type t.
bool matmul_supports(DType t) noexcept;

/// Name of the kernel family in use ("avx512-vnni", "avx2", "scalar"): that of
/// cnai::active_cpu_isa() (core/cpu_features.hpp), the best the CPU supports
/// unless ModelOptions::isa or set_cpu_isa chose another.
const char* matmul_isa();

}  // namespace cnai::ops
