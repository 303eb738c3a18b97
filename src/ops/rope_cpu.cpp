// rope_cpu — rotates pairs of each head by theta_i = pos * freq_scale *
// base^(-2i/n_rot) / freq_factors[i]. Angles are computed in double once per
// token (they reach thousands of radians; float would lose ~1e-3 rad).
#include <cmath>
#include <vector>

#include "ops/layer_ops_cpu.hpp"

namespace cnai::ops::cpu {

namespace {

void rope_angles(std::int32_t pos, const RopeParams& p, float* cos_out, float* sin_out) {
  const int half = p.n_rot / 2;
  for (int i = 0; i < half; ++i) {
    double theta = static_cast<double>(pos) * p.freq_scale *
                   std::pow(static_cast<double>(p.freq_base), -2.0 * i / p.n_rot);
    if (p.freq_factors) theta /= p.freq_factors[i];
    cos_out[i] = static_cast<float>(std::cos(theta));
    sin_out[i] = static_cast<float>(std::sin(theta));
  }
}

void rotate_head(float* x, int n_rot, RopeStyle style, const float* c, const float* s) noexcept {
  const int half = n_rot / 2;
  if (style == RopeStyle::normal) {
    for (int i = 0; i < half; ++i) {
      const float x0 = x[2 * i], x1 = x[2 * i + 1];
      x[2 * i] = x0 * c[i] - x1 * s[i];
      x[2 * i + 1] = x0 * s[i] + x1 * c[i];
    }
  } else {
    for (int i = 0; i < half; ++i) {
      const float x0 = x[i], x1 = x[i + half];
      x[i] = x0 * c[i] - x1 * s[i];
      x[i + half] = x0 * s[i] + x1 * c[i];
    }
  }
}

}  // namespace

void rope(float* x, std::int64_t t, std::int64_t h, std::int64_t d,
          std::span<const std::int32_t> positions, const RopeParams& p) {
  // Grow-only scratch: no allocation per call once warmed up.
  thread_local std::vector<float> table;
  const auto half = static_cast<std::size_t>(p.n_rot / 2);
  if (table.size() < 2 * half) table.resize(2 * half);
  float* c = table.data();
  float* s = table.data() + half;
  for (std::int64_t r = 0; r < t; ++r) {
    rope_angles(positions[static_cast<std::size_t>(r)], p, c, s);
    for (std::int64_t j = 0; j < h; ++j) rotate_head(x + (r * h + j) * d, p.n_rot, p.style, c, s);
  }
}

}  // namespace cnai::ops::cpu
