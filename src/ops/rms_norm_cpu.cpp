// rms_norm_cpu — y = x / sqrt(mean(x²) + eps) * w, one row at a time.
#include <cmath>

#include "ops/layer_ops_cpu.hpp"

namespace cnai::ops::cpu {

namespace {

// Eight independent partial sums let the compiler keep a vector register of
// accumulators without -ffast-math.
float sum_squares(const float* x, std::int64_t d) noexcept {
  float acc[8] = {};
  std::int64_t i = 0;
  for (; i + 8 <= d; i += 8) {
    for (int l = 0; l < 8; ++l) acc[l] += x[i + l] * x[i + l];
  }
  float s = 0.0f;
  for (; i < d; ++i) s += x[i] * x[i];
  for (float a : acc) s += a;
  return s;
}

}  // namespace

void rms_norm(const float* x, const float* w, float eps, float* y, std::int64_t rows,
              std::int64_t d) noexcept {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    const float mean = sum_squares(xr, d) / static_cast<float>(d);
    const float inv = 1.0f / std::sqrt(mean + eps);
    for (std::int64_t i = 0; i < d; ++i) yr[i] = xr[i] * inv * w[i];
  }
}

}  // namespace cnai::ops::cpu
