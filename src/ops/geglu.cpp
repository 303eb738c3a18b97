// geglu — argument checks and device dispatch.
#include "cnai/ops/geglu.hpp"

#include <cmath>

#include "ops/layer_checks.hpp"
#include "ops/layer_ops_cpu.hpp"

namespace cnai::ops {

void geglu(const Tensor& gate, const Tensor& up, Tensor& out) {
  constexpr const char* op = "geglu";
  check::f32(op, "gate", gate);
  check::f32(op, "up", up);
  check::f32(op, "out", out);
  check::same_shape(op, "gate", gate, "up", up);
  check::same_shape(op, "gate", gate, "out", out);
  check::on_cpu(op, gate);
  check::on_cpu(op, up);
  check::on_cpu(op, out);
  cpu::geglu(gate.data_as<float>(), up.data_as<float>(), out.data_as<float>(), gate.numel());
}

float gelu_tanh(float x) noexcept {
  return 0.5f * x * (1.0f + std::tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

}  // namespace cnai::ops
