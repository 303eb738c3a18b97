// layer_ops_cpu — CPU kernels behind rms_norm, rope, softmax, swiglu, geglu and
// attention. Arguments are already checked by the dispatchers in src/ops/<op>.cpp.
#pragma once

#include <cstdint>
#include <span>

#include "cnai/core/thread_pool.hpp"
#include "cnai/ops/rope.hpp"
#include "cnai/tensor/tensor.hpp"

namespace cnai::ops::cpu {

void rms_norm(const float* x, const float* w, float eps, float* y, std::int64_t rows,
              std::int64_t d) noexcept;

void rope(float* x, std::int64_t t, std::int64_t h, std::int64_t d,
          std::span<const std::int32_t> positions, const RopeParams& p);

void softmax_rows(float* x, std::int64_t rows, std::int64_t n) noexcept;

void swiglu(const float* gate, const float* up, float* out, std::int64_t n) noexcept;

void geglu(const float* gate, const float* up, float* out, std::int64_t n) noexcept;

void attention(const Tensor& q, const Tensor& k, const Tensor& v, std::int64_t pos0,
               float scale, Tensor& out, ThreadPool& pool, std::int64_t window);

}  // namespace cnai::ops::cpu
