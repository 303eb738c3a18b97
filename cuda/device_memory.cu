// device_memory — CUDA device discovery, allocation and host<->device copies.
#include "cuda_check.cuh"
#include "ops/cuda_ops.hpp"

namespace cnai::ops {

bool cuda_available() noexcept {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the "no device / no driver" status
    return false;
  }
  return n > 0;
}

namespace gpu {

void* alloc(std::size_t bytes) {
  void* p = nullptr;
  CNAI_CUDA_CHECK(cudaMalloc(&p, bytes));
  return p;
}

void free(void* p) noexcept {
  if (p) cudaFree(p);  // at process exit the context may be gone; nothing to do then
}

void copy_to_device(void* dst, const void* src, std::size_t bytes) {
  CNAI_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

void copy_to_host(void* dst, const void* src, std::size_t bytes) {
  CNAI_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

}  // namespace gpu
}  // namespace cnai::ops
