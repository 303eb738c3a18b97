// swiglu — out = silu(gate) * up, elementwise (the Llama FFN activation).
#pragma once

#include "cnai/tensor/tensor.hpp"

namespace cnai::ops {

/// gate, up, out: F32 of one shape (out may alias gate or up).
void swiglu(const Tensor& gate, const Tensor& up, Tensor& out);

float silu(float x) noexcept;

}  // namespace cnai::ops
