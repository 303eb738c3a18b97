// matmul on CUDA through cuBLAS: y[M, N] = x[M, K] · w[N, K]ᵀ.
//
// CPU reference: y[m, n] = sum_k x[m, k] * w[n, k]
//
// Row-major y = x·wᵀ is column-major yᵀ = w·xᵀ, i.e. one GEMM with
// op(A) = T on w (K×N column-major) and op(B) = N on x (K×M column-major).
//   F32 weights: cublasSgemm.
//   F16 weights: x converted to F16, cublasGemmEx F16×F16 -> F32 (FP32 compute).
//   Q4_0/Q4_1/Q8_0: dequantize w to F32 in scratch, then cublasSgemm.
#include <cuda_fp16.h>

#include "cuda_check.cuh"
#include "dequantize.cuh"
#include "device_scratch.cuh"
#include "ops/cuda_ops.hpp"

namespace cnai::ops::gpu {
namespace {

struct CublasHandle {
  cublasHandle_t h = nullptr;
  CublasHandle() { CNAI_CUDA_CHECK(cublasCreate(&h)); }
  ~CublasHandle() {
    if (h) cublasDestroy(h);
  }
};

cublasHandle_t handle() {
  thread_local CublasHandle handle;  // cuBLAS handles are not meant to be shared across threads
  return handle.h;
}

__global__ void f32_to_f16_kernel(const float* src, __half* dst, long long n) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) dst[i] = __float2half_rn(src[i]);
}

void gemm_f32(const float* x, const float* w, float* y, int m, int n, int k) {
  const float alpha = 1.0f, beta = 0.0f;
  CNAI_CUDA_CHECK(cublasSgemm(handle(), CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &alpha, w, k, x, k, &beta, y, n));
}

void gemm_f16(const float* x, const void* w, float* y, int m, int n, int k) {
  thread_local cnai::cuda::DeviceScratch x_half;
  const long long count = static_cast<long long>(m) * k;
  auto* xh = static_cast<__half*>(x_half.get(static_cast<std::size_t>(count) * sizeof(__half)));
  f32_to_f16_kernel<<<static_cast<unsigned>((count + 255) / 256), 256>>>(x, xh, count);
  CNAI_CUDA_CHECK_LAUNCH("f32_to_f16_kernel");
  const float alpha = 1.0f, beta = 0.0f;
  CNAI_CUDA_CHECK(cublasGemmEx(handle(), CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &alpha, w, CUDA_R_16F, k,
                               xh, CUDA_R_16F, k, &beta, y, CUDA_R_32F, n, CUBLAS_COMPUTE_32F,
                               CUBLAS_GEMM_DEFAULT));
}

}  // namespace

void matmul(const float* x, const void* w, DType wtype, float* y, std::int64_t m, std::int64_t n,
            std::int64_t k) {
  const int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k);
  switch (wtype) {
    case DType::F32: gemm_f32(x, static_cast<const float*>(w), y, mi, ni, ki); return;
    case DType::F16: gemm_f16(x, w, y, mi, ni, ki); return;
    default: {
      thread_local cnai::cuda::DeviceScratch w_f32;
      auto* wf = static_cast<float*>(w_f32.get(static_cast<std::size_t>(n * k) * sizeof(float)));
      cnai::cuda::dequantize_rows(wtype, w, wf, n, k);
      gemm_f32(x, wf, y, mi, ni, ki);
    }
  }
}

}  // namespace cnai::ops::gpu
