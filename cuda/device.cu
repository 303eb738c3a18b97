// device — CUDA device discovery for the dispatchers in src/ops.
#include "cuda_check.cuh"
#include "ops/cuda_ops.hpp"

namespace cnai::ops {

bool cuda_available() noexcept {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" status
    return false;
  }
  return n > 0;
}

}  // namespace cnai::ops
