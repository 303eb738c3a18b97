// Block (de)quantization for GGUF's types: the reference conversions between
// F32 and F16/BF16/Q4_0/Q4_1/Q5_0/Q5_1/Q8_0/Q8_1 and the K-quants Q2_K..Q6_K/Q8_K.
#pragma once

#include <cstdint>

#include "cnai/tensor/dtype.hpp"

namespace cnai::ops {

/// dst[0..n) = src row of `n` elements of type t. n must be a multiple of the
/// block size. Throws Error(unsupported) for a type with no dequantizer.
void dequantize_row(DType t, const void* src, float* dst, std::int64_t n);

/// Quantizes n floats into a row of type t (round-to-nearest: GGML's reference
/// quantizers for the 32-element types and Q8_K; min/max fits for the K-quants). Used by tests and tools, not the hot path.
void quantize_row(DType t, const float* src, void* dst, std::int64_t n);

float f16_to_f32(std::uint16_t h) noexcept;
std::uint16_t f32_to_f16(float f) noexcept;
float bf16_to_f32(std::uint16_t h) noexcept;
std::uint16_t f32_to_bf16(float f) noexcept;

}  // namespace cnai::ops
