// gelu — out = x * Phi(x) = x / 2 * (1 + erf(x / sqrt 2)), elementwise: the exact
// GELU of BERT's feed-forward ("gelu" in Hugging Face configs, not the tanh form).
#pragma once

#include "cnai/tensor/tensor.hpp"

namespace cnai::ops {

/// x, out: F32 of one shape (out may be x).
void gelu(const Tensor& x, Tensor& out);

/// The reference for one value (std::erf).
float gelu(float x) noexcept;

}  // namespace cnai::ops
