// geglu — out = gelu(gate) * up elementwise, with the tanh approximation of
// GELU (Gemma's FFN activation, llama.cpp's ggml_gelu).
#pragma once

#include "cnai/tensor/tensor.hpp"

namespace cnai::ops {

/// gate, up, out: F32 of one shape (out may alias gate or up).
void geglu(const Tensor& gate, const Tensor& up, Tensor& out);

/// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
float gelu_tanh(float x) noexcept;

}  // namespace cnai::ops
