// swiglu_cpu — out = silu(gate) * up elementwise.
#include "ops/layer_ops_cpu.hpp"
#include "ops/row_kernels.hpp"

namespace cnai::ops::cpu {

void swiglu(const float* gate, const float* up, float* out, std::int64_t n) noexcept {
  row_kernels().silu_mul(gate, up, out, n);
}

}  // namespace cnai::ops::cpu
