// geglu_cpu — out = gelu_tanh(gate) * up elementwise.
#include "ops/layer_ops_cpu.hpp"
#include "ops/row_kernels.hpp"

namespace cnai::ops::cpu {

void geglu(const float* gate, const float* up, float* out, std::int64_t n) noexcept {
  row_kernels().gelu_mul(gate, up, out, n);
}

}  // namespace cnai::ops::cpu
