// dequantize on CUDA: Q4_0 / Q4_1 / Q8_0 blocks of 32 weights to F32.
//
// CPU reference (GGML's dequantize_row_*), block b, element j < 16:
//   Q4_0 {half d; u8 qs[16]}:         x[j] = d*((qs[j] & 15) - 8), x[j+16] = d*((qs[j] >> 4) - 8)
//   Q4_1 {half d, m; u8 qs[16]}:      x[j] = d*(qs[j] & 15) + m,   x[j+16] = d*(qs[j] >> 4) + m
//   Q8_0 {half d; i8 qs[32]}, j < 32: x[j] = d*qs[j]
//
// Kernel: one thread per output element (block sizes 18/20/34 bytes keep the
// half scales 2-byte aligned).
#include <cuda_fp16.h>

#include "cuda_check.cuh"
#include "dequantize.cuh"

namespace cnai::cuda {
namespace {

__device__ inline float load_half(const unsigned char* p) {
  return __half2float(*reinterpret_cast<const __half*>(p));
}

template <int kType>
__global__ void dequantize_kernel(const unsigned char* src, float* dst, long long n) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const long long b = i / 32;
  const int j = static_cast<int>(i % 32);
  if constexpr (kType == 8) {  // Q8_0
    const unsigned char* blk = src + b * 34;
    dst[i] = load_half(blk) * static_cast<float>(reinterpret_cast<const signed char*>(blk + 2)[j]);
  } else {
    const int header = kType == 2 ? 2 : 4;  // Q4_0: d; Q4_1: d, m
    const unsigned char* blk = src + b * (header + 16);
    const int q = j < 16 ? (blk[header + j] & 15) : (blk[header + j - 16] >> 4);
    const float d = load_half(blk);
    dst[i] = kType == 2 ? d * static_cast<float>(q - 8) : d * static_cast<float>(q) + load_half(blk + 2);
  }
}

}  // namespace

void dequantize_rows(DType t, const void* src, float* dst, std::int64_t rows, std::int64_t k) {
  const long long n = rows * k;
  const unsigned blocks = static_cast<unsigned>((n + 255) / 256);
  const auto* s = static_cast<const unsigned char*>(src);
  switch (t) {
    case DType::Q4_0: dequantize_kernel<2><<<blocks, 256>>>(s, dst, n); break;
    case DType::Q4_1: dequantize_kernel<3><<<blocks, 256>>>(s, dst, n); break;
    case DType::Q8_0: dequantize_kernel<8><<<blocks, 256>>>(s, dst, n); break;
    default: throw Error(ErrorCode::unsupported, "dequantize_rows: no CUDA dequantizer for this type");
  }
  CNAI_CUDA_CHECK_LAUNCH("dequantize_kernel");
}

}  // namespace cnai::cuda
