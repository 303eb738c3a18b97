// Reference (scalar) dequantizers and quantizers of the types added after the
// first four: Q5_0/Q5_1 and the K-quants Q2_K..Q6_K, Q8_K (private to src/ops;
// ops::dequantize_row / quantize_row dispatch here). Dequantizers follow GGML's
// dequantize_row_*; the K-quant quantizers are plain round-to-nearest over
// per-sub-block min/max (valid GGML blocks, not llama-quantize's search).
#pragma once

#include <cstdint>

#include "cnai/tensor/dtype.hpp"

namespace cnai::ops {

/// True for the types handled here.
bool is_extra_quant(DType t) noexcept;

/// nb blocks of type t (see is_extra_quant).
void dequantize_extra(DType t, const void* src, float* dst, std::int64_t nb);
void quantize_extra(DType t, const float* src, void* dst, std::int64_t nb);

/// Q4_K/Q5_K's 12 packed bytes -> 8 six-bit scales and 8 six-bit mins.
void unpack_scales_k4(const std::uint8_t* packed, std::uint8_t* scales, std::uint8_t* mins) noexcept;
/// Q3_K's 12 packed bytes -> 16 six-bit scales (still offset by 32).
void unpack_scales_q3(const std::uint8_t* packed, std::uint8_t* scales) noexcept;
/// The inverse: 16 six-bit scales (offset by 32) -> Q3_K's 12 bytes.
void pack_scales_q3(const std::uint8_t* scales, std::uint8_t* packed) noexcept;
/// 256 quants q (0..7, GGML's q + 4) -> Q3_K's qs (64 bytes) and hmask (32 bytes), both overwritten.
void pack_quants_q3(const std::uint8_t* q, std::uint8_t* qs, std::uint8_t* hmask) noexcept;

}  // namespace cnai::ops
