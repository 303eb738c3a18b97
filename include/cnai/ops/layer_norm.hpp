// layer_norm — y = (x - mean) / sqrt(var + eps) * weight + bias, per row (the
// LayerNorm of BERT-family encoders; mean and variance over the innermost dim).
#pragma once

#include "cnai/tensor/tensor.hpp"

namespace cnai::ops {

/// x, y: F32 [M, D] (y may be x); weight, bias: F32 [D].
void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& y);

}  // namespace cnai::ops
