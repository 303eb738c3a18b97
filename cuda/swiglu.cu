// swiglu on CUDA.
//
// CPU reference (src/ops/swiglu_cpu.cpp): out[i] = gate[i] / (1 + exp(-gate[i])) * up[i]
//
// Kernel: one thread per element.
#include "cuda_check.cuh"
#include "ops/cuda_ops.hpp"

namespace cnai::ops::gpu {
namespace {

__global__ void swiglu_kernel(const float* gate, const float* up, float* out, long long n) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) {
    const float g = gate[i];
    out[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

}  // namespace

void swiglu(const float* gate, const float* up, float* out, std::int64_t n) {
  const unsigned blocks = static_cast<unsigned>((n + 255) / 256);
  swiglu_kernel<<<blocks, 256>>>(gate, up, out, n);
  CNAI_CUDA_CHECK_LAUNCH("swiglu_kernel");
}

}  // namespace cnai::ops::gpu
