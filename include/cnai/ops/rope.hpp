// rope — rotary position embedding, in place, normal (GPT-J interleaved pairs,
// Llama in GGUF) or NeoX (split halves, Qwen2) ordering.
#pragma once

#include <cstdint>
#include <span>

#include "cnai/tensor/tensor.hpp"

namespace cnai::ops {

enum class RopeStyle { normal, neox };

struct RopeParams {
  int n_rot = 0;               // rotated dims per head (<= head_dim, even)
  float freq_base = 10000.0f;  // theta
  float freq_scale = 1.0f;     // linear scaling: position * freq_scale
  RopeStyle style = RopeStyle::normal;
  const float* freq_factors = nullptr;  // optional [n_rot/2] divisors (Llama 3 rope_freqs)
};

/// x: F32 [T, H, D] (or [T, D], one head); row t is at position positions[t].
/// Rotates the first n_rot dims of every head in place. Angles are computed in
/// double, so large positions keep full float accuracy.
void rope(Tensor& x, std::span<const std::int32_t> positions, const RopeParams& params);

}  // namespace cnai::ops
