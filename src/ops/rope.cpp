// rope — argument checks and device dispatch.
#include "cnai/ops/rope.hpp"

#include <cmath>
#include <string>

#include "ops/layer_checks.hpp"
#include "ops/layer_ops_cpu.hpp"

namespace cnai::ops {

void rope(Tensor& x, std::span<const std::int32_t> positions, const RopeParams& params) {
  constexpr const char* op = "rope";
  check::f32(op, "x", x);
  check::on_cpu(op, x);
  if (x.rank() != 3 && x.rank() != 2) {
    check::fail(op, "x must be [T, H, D] (or [T, D]), got " + x.shape().str());
  }
  const std::int64_t t = x.dim(0);
  const std::int64_t h = x.rank() == 3 ? x.dim(1) : 1;
  const std::int64_t d = x.dim(-1);
  if (static_cast<std::int64_t>(positions.size()) != t) {
    check::fail(op, std::to_string(positions.size()) + " positions for x " + x.shape().str() +
                        " (need one per row of dim 0)");
  }
  if (params.n_rot <= 0 || params.n_rot % 2 != 0 || params.n_rot > d) {
    check::fail(op, "n_rot " + std::to_string(params.n_rot) +
                        " must be even and in (0, head_dim] for x " + x.shape().str());
  }
  if (!(params.freq_base > 0.0f) || !std::isfinite(params.freq_base) ||
      !std::isfinite(params.freq_scale)) {
    check::fail(op, "freq_base must be finite and > 0, freq_scale finite");
  }
  if (x.numel() == 0) return;
  cpu::rope(x.data_as<float>(), t, h, d, positions, params);
}

}  // namespace cnai::ops
