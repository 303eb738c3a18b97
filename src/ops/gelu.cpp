// gelu — argument checks and device dispatch.
#include "cnai/ops/gelu.hpp"

#include <cmath>

#include "ops/layer_checks.hpp"
#include "ops/layer_ops_cpu.hpp"

namespace cnai::ops {

void gelu(const Tensor& x, Tensor& out) {
  constexpr const char* op = "gelu";
  check::f32(op, "x", x);
  check::f32(op, "out", out);
  check::same_shape(op, "x", x, "out", out);
  check::on_cpu(op, x);
  check::on_cpu(op, out);
  cpu::gelu(x.data_as<float>(), out.data_as<float>(), x.numel());
}

float gelu(float x) noexcept { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }

}  // namespace cnai::ops
