// cuda_ops — private entry points of the CUDA code in cuda/ (no CUDA types;
// pointers are device pointers). A CPU-only build defines them in
// src/ops/device.cpp: cuda_available() is false and the rest throw unsupported.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cnai/ops/rope.hpp"
#include "cnai/tensor/dtype.hpp"

namespace cnai::ops {

/// True when the library was built with CUDA and a device is present.
bool cuda_available() noexcept;

namespace gpu {

void* alloc(std::size_t bytes);
void free(void* p) noexcept;
void copy_to_device(void* dst, const void* src, std::size_t bytes);
void copy_to_host(void* dst, const void* src, std::size_t bytes);

/// y[M, N] = x[M, K] · w[N, K]ᵀ, w of type wtype (F32, F16, Q4_0, Q4_1, Q8_0).
void matmul(const float* x, const void* w, DType wtype, float* y, std::int64_t m, std::int64_t n,
            std::int64_t k);
void rms_norm(const float* x, const float* w, float eps, float* y, std::int64_t rows,
              std::int64_t d);
/// positions / freq_factors are host arrays (copied to the device inside).
void rope(float* x, std::int64_t t, std::int64_t h, std::int64_t d, const std::int32_t* positions,
          const RopeParams& params);
void softmax_rows(float* x, std::int64_t rows, std::int64_t n);
void swiglu(const float* gate, const float* up, float* out, std::int64_t n);
/// q, out: [t, n_head, hd]; k, v: [n_ctx, n_kv, hd] in F16 or F32.
void attention(const float* q, const void* k, bool k_f16, const void* v, bool v_f16, float* out,
               std::int64_t t, std::int64_t n_head, std::int64_t n_kv, std::int64_t hd,
               std::int64_t n_ctx, std::int64_t pos0, float scale);

}  // namespace gpu
}  // namespace cnai::ops
