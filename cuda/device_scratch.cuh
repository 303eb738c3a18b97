// device_scratch — grow-only device buffers reused across calls, so steady
// state does not cudaMalloc per op (one set per host thread).
#pragma once

#include <cstddef>

#include "cuda_check.cuh"

namespace cnai::cuda {

class DeviceScratch {
 public:
  DeviceScratch() = default;
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
  ~DeviceScratch() {
    if (ptr_) cudaFree(ptr_);
  }

  /// At least `bytes` of device memory; previous contents are not kept.
  void* get(std::size_t bytes) {
    if (bytes > capacity_) {
      if (ptr_) cudaFree(ptr_);
      ptr_ = nullptr;
      capacity_ = 0;
      CNAI_CUDA_CHECK(cudaMalloc(&ptr_, bytes));
      capacity_ = bytes;
    }
    return ptr_;
  }

 private:
  void* ptr_ = nullptr;
  std::size_t capacity_ = 0;
};

}  // namespace cnai::cuda
