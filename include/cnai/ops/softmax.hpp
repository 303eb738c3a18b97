// softmax — numerically stable softmax over the innermost dimension, in place.
#pragma once

#include <cstdint>

#include "cnai/tensor/tensor.hpp"

namespace cnai::ops {

/// x: F32 [..., N], each row replaced by its softmax.
void softmax(Tensor& x);

/// One row of n floats, in place.
void softmax_row(float* x, std::int64_t n) noexcept;

/// The largest of x[0, n), n >= 1 (the SIMD kernel the softmax uses).
float row_max(const float* x, std::int64_t n) noexcept;

/// x[i] = exp(x[i] - shift) in place; returns the sum (the softmax's
/// unnormalised step, for callers that normalise or sample themselves).
float exp_shifted(float* x, std::int64_t n, float shift) noexcept;

}  // namespace cnai::ops
