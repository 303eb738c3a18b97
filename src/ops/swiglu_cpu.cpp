// swiglu_cpu — out = silu(gate) * up elementwise.
#include <cmath>

#include "ops/layer_ops_cpu.hpp"

namespace cnai::ops::cpu {

void swiglu(const float* gate, const float* up, float* out, std::int64_t n) noexcept {
  for (std::int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

}  // namespace cnai::ops::cpu
