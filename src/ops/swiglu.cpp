// swiglu — argument checks and device dispatch.
#include "cnai/ops/swiglu.hpp"

#include <cmath>

#include "ops/layer_checks.hpp"
#include "ops/layer_ops_cpu.hpp"

namespace cnai::ops {

void swiglu(const Tensor& gate, const Tensor& up, Tensor& out) {
  constexpr const char* op = "swiglu";
  check::f32(op, "gate", gate);
  check::f32(op, "up", up);
  check::f32(op, "out", out);
  check::same_shape(op, "gate", gate, "up", up);
  check::same_shape(op, "gate", gate, "out", out);
  check::on_cpu(op, gate);
  check::on_cpu(op, up);
  check::on_cpu(op, out);
  cpu::swiglu(gate.data_as<float>(), up.data_as<float>(), out.data_as<float>(), gate.numel());
}

float silu(float x) noexcept { return x / (1.0f + std::exp(-x)); }

}  // namespace cnai::ops
