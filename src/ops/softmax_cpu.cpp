// softmax_cpu — stable softmax per row: subtract the max before exp.
#include "ops/layer_ops_cpu.hpp"
#include "ops/row_kernels.hpp"

namespace cnai::ops::cpu {

void softmax_rows(float* x, std::int64_t rows, std::int64_t n) noexcept {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * n;
    float mx = row[0];
    for (std::int64_t i = 1; i < n; ++i) mx = row[i] > mx ? row[i] : mx;
    const float sum = row_kernels().exp_shifted(row, n, mx);
    const float inv = 1.0f / sum;
    for (std::int64_t i = 0; i < n; ++i) row[i] *= inv;
  }
}

}  // namespace cnai::ops::cpu
