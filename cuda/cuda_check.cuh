// cuda_check — turns CUDA runtime and cuBLAS status codes into cnai::Error.
// Every kernel launch is followed by CNAI_CUDA_CHECK_LAUNCH().
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "cnai/core/error.hpp"

namespace cnai::cuda {

inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    const ErrorCode code =
        err == cudaErrorMemoryAllocation ? ErrorCode::out_of_memory : ErrorCode::internal;
    throw Error(code, std::string("CUDA error in ") + what + ": " + cudaGetErrorString(err));
  }
}

inline void check(cublasStatus_t st, const char* what) {
  if (st != CUBLAS_STATUS_SUCCESS) {
    throw Error(ErrorCode::internal,
                std::string("cuBLAS error in ") + what + ": status " + std::to_string(static_cast<int>(st)));
  }
}

}  // namespace cnai::cuda

#define CNAI_CUDA_CHECK(expr) ::cnai::cuda::check((expr), #expr)
#define CNAI_CUDA_CHECK_LAUNCH(name) ::cnai::cuda::check(cudaGetLastError(), name)
