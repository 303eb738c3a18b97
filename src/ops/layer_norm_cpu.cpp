// layer_norm_cpu — two passes per row: the mean, then the variance of x - mean
// (no E[x^2] - E[x]^2 cancellation), then the affine map.
#include <cmath>

#include "ops/layer_ops_cpu.hpp"

namespace cnai::ops::cpu {
namespace {

// Eight independent partial sums keep a vector register of accumulators
// without -ffast-math (as rms_norm_cpu).
float row_sum(const float* x, std::int64_t d) noexcept {
  float acc[8] = {};
  std::int64_t i = 0;
  for (; i + 8 <= d; i += 8) {
    for (int l = 0; l < 8; ++l) acc[l] += x[i + l];
  }
  float s = 0.0f;
  for (; i < d; ++i) s += x[i];
  for (float a : acc) s += a;
  return s;
}

float centred_sum_squares(const float* x, float mean, std::int64_t d) noexcept {
  float acc[8] = {};
  std::int64_t i = 0;
  for (; i + 8 <= d; i += 8) {
    for (int l = 0; l < 8; ++l) acc[l] += (x[i + l] - mean) * (x[i + l] - mean);
  }
  float s = 0.0f;
  for (; i < d; ++i) s += (x[i] - mean) * (x[i] - mean);
  for (float a : acc) s += a;
  return s;
}

}  // namespace

void layer_norm(const float* x, const float* w, const float* b, float eps, float* y, std::int64_t rows,
                std::int64_t d) noexcept {
  const float inv_d = 1.0f / static_cast<float>(d);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    const float mean = row_sum(xr, d) * inv_d;
    const float inv = 1.0f / std::sqrt(centred_sum_squares(xr, mean, d) * inv_d + eps);
    for (std::int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - mean) * inv * w[i] + b[i];
  }
}

}  // namespace cnai::ops::cpu
