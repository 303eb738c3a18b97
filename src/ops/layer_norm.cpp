// layer_norm — argument checks and device dispatch.
#include "cnai/ops/layer_norm.hpp"

#include <cmath>
#include <string>

#include "ops/layer_checks.hpp"
#include "ops/layer_ops_cpu.hpp"

namespace cnai::ops {

void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& y) {
  constexpr const char* op = "layer_norm";
  check::f32(op, "x", x);
  check::f32(op, "weight", weight);
  check::f32(op, "bias", bias);
  check::f32(op, "y", y);
  check::same_shape(op, "x", x, "y", y);
  for (const auto& [name, t] : {std::pair<const char*, const Tensor*>{"weight", &weight}, {"bias", &bias}}) {
    if (t->rank() != 1 || t->dim(0) != x.dim(-1))
      check::fail(op, std::string(name) + " " + t->shape().str() + " must be [D] with D = " +
                          std::to_string(x.dim(-1)) + " (x " + x.shape().str() + ")");
  }
  if (!(eps >= 0.0f) || !std::isfinite(eps)) check::fail(op, "eps must be finite and >= 0");
  check::on_cpu(op, x);
  check::on_cpu(op, y);
  cpu::layer_norm(x.data_as<float>(), weight.data_as<float>(), bias.data_as<float>(), eps,
                  y.data_as<float>(), x.rows(), x.dim(-1));
}

}  // namespace cnai::ops
