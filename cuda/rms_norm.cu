// rms_norm on CUDA.
//
// CPU reference (src/ops/rms_norm_cpu.cpp):
//   for each row r: inv = 1 / sqrt(sum_i x[r,i]^2 / D + eps)
//                   y[r,i] = x[r,i] * inv * w[i]
//
// Kernel: one block per row; threads stride over the row, then a warp-shuffle
// + shared-memory reduction gives the sum of squares. y may alias x.
#include "cuda_check.cuh"
#include "ops/cuda_ops.hpp"
#include "reduce.cuh"

namespace cnai::ops::gpu {
namespace {

__global__ void rms_norm_kernel(const float* x, const float* w, float eps, float* y, int d) {
  const float* xr = x + static_cast<long long>(blockIdx.x) * d;
  float* yr = y + static_cast<long long>(blockIdx.x) * d;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < d; i += blockDim.x) ss += xr[i] * xr[i];
  ss = cnai::cuda::block_sum(ss);
  const float inv = rsqrtf(ss / static_cast<float>(d) + eps);
  for (int i = threadIdx.x; i < d; i += blockDim.x) yr[i] = xr[i] * inv * w[i];
}

}  // namespace

void rms_norm(const float* x, const float* w, float eps, float* y, std::int64_t rows,
              std::int64_t d) {
  rms_norm_kernel<<<static_cast<unsigned>(rows), 256>>>(x, w, eps, y, static_cast<int>(d));
  CNAI_CUDA_CHECK_LAUNCH("rms_norm_kernel");
}

}  // namespace cnai::ops::gpu
