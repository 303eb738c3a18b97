// dequantize — GGML block formats to F32 on the device, for the GEMM path.
#pragma once

#include <cstdint>

#include "cnai/tensor/dtype.hpp"

namespace cnai::cuda {

/// dst[0, rows * k) = dequantized rows of type t (Q4_0, Q4_1 or Q8_0), k a
/// multiple of 32. Asynchronous on the default stream; throws on launch error.
void dequantize_rows(DType t, const void* src, float* dst, std::int64_t rows, std::int64_t k);

}  // namespace cnai::cuda
