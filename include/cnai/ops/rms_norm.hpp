// rms_norm — y = x / sqrt(mean(x²) + eps) * weight, per row.
#pragma once

#include "cnai/tensor/tensor.hpp"

namespace cnai::ops {

/// x, y: F32 [M, D] (y may be x); weight: F32 [D].
void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& y);

}  // namespace cnai::ops
