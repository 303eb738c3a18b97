// softmax — numerically stable softmax over the innermost dimension, in place.
#pragma once

#include <cstdint>

#include "cnai/tensor/tensor.hpp"

namespace cnai::ops {

/// x: F32 [..., N], each row replaced by its softmax.
void softmax(Tensor& x);

/// One row of n floats, in place.
void softmax_row(float* x, std::int64_t n) noexcept;

}  // namespace cnai::ops
