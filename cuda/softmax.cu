// softmax on CUDA.
//
// CPU reference (src/ops/softmax_cpu.cpp), per row of n:
//   m = max_i x[i];  e[i] = exp(x[i] - m);  x[i] = e[i] / sum_i e[i]
//
// Kernel: one block per row, three strided passes (max, sum of exp, scale),
// block reductions between them.
#include "cuda_check.cuh"
#include "ops/cuda_ops.hpp"
#include "reduce.cuh"

namespace cnai::ops::gpu {
namespace {

__global__ void softmax_kernel(float* x, long long n) {
  float* row = x + static_cast<long long>(blockIdx.x) * n;
  float m = -INFINITY;
  for (long long i = threadIdx.x; i < n; i += blockDim.x) m = fmaxf(m, row[i]);
  m = cnai::cuda::block_max(m);
  float s = 0.0f;
  for (long long i = threadIdx.x; i < n; i += blockDim.x) {
    const float e = expf(row[i] - m);
    row[i] = e;
    s += e;
  }
  s = cnai::cuda::block_sum(s);
  const float inv = 1.0f / s;
  for (long long i = threadIdx.x; i < n; i += blockDim.x) row[i] *= inv;
}

}  // namespace

void softmax_rows(float* x, std::int64_t rows, std::int64_t n) {
  softmax_kernel<<<static_cast<unsigned>(rows), 256>>>(x, n);
  CNAI_CUDA_CHECK_LAUNCH("softmax_kernel");
}

}  // namespace cnai::ops::gpu
