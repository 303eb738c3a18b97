// softmax — argument checks and device dispatch.
#include "cnai/ops/softmax.hpp"

#include "ops/layer_checks.hpp"
#include "ops/layer_ops_cpu.hpp"
#include "ops/row_kernels.hpp"

namespace cnai::ops {

void softmax(Tensor& x) {
  constexpr const char* op = "softmax";
  check::f32(op, "x", x);
  check::on_cpu(op, x);
  if (x.numel() == 0) return;
  cpu::softmax_rows(x.data_as<float>(), x.rows(), x.dim(-1));
}

void softmax_row(float* x, std::int64_t n) noexcept {
  if (x == nullptr || n <= 0) return;
  cpu::softmax_rows(x, 1, n);
}

float row_max(const float* x, std::int64_t n) noexcept { return cpu::row_kernels().max(x, n); }

float exp_shifted(float* x, std::int64_t n, float shift) noexcept {
  return n > 0 ? cpu::row_kernels().exp_shifted(x, n, shift) : 0.0f;
}

}  // namespace cnai::ops
