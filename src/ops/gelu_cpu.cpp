// gelu_cpu — the exact GELU elementwise, on the row kernels of this CPU's ISA.
#include "ops/layer_ops_cpu.hpp"
#include "ops/row_kernels.hpp"

namespace cnai::ops::cpu {

void gelu(const float* x, float* out, std::int64_t n) noexcept { row_kernels().gelu(x, out, n); }

}  // namespace cnai::ops::cpu
