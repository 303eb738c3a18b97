// Reference (scalar) conversions between F32 and GGUF's element types,
// following GGML's *_ref quantizers and dequantizers.
#include "cnai/ops/quantize.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "cnai/core/error.hpp"
#include "ops/quant_blocks.hpp"
#include "ops/quantize_k.hpp"

namespace cnai::ops {
namespace {

float from_bits(std::uint32_t u) noexcept { float f; std::memcpy(&f, &u, 4); return f; }
std::uint32_t to_bits(float f) noexcept { std::uint32_t u; std::memcpy(&u, &f, 4); return u; }

void check_blocks(DType t, std::int64_t n) {
  const auto bs = static_cast<std::int64_t>(traits(t).block_size);
  if (n < 0 || n % bs != 0)
    throw Error(ErrorCode::invalid_argument, "row of " + std::to_string(n) + " elements is not a multiple of " +
                                                 std::string(to_string(t)) + "'s block size " + std::to_string(bs));
}

// ---- dequantizers ------------------------------------------------------------
void dequant_q4_0(const BlockQ4_0* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>((b[i].qs[j] & 0x0F) - 8) * d;
      y[j + 16] = static_cast<float>((b[i].qs[j] >> 4) - 8) * d;
    }
  }
}
void dequant_q4_1(const BlockQ4_1* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = f16_to_f32(b[i].d), m = f16_to_f32(b[i].m);
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>(b[i].qs[j] & 0x0F) * d + m;
      y[j + 16] = static_cast<float>(b[i].qs[j] >> 4) * d + m;
    }
  }
}
template <class B>
void dequant_q8(const B* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
  }
}
void scale_min_k4(int j, const std::uint8_t* q, int& sc, int& m) {
  if (j < 4) {
    sc = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}
void dequant_q4_k(const BlockQ4_K* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    const std::uint8_t* q = b[i].qs;
    for (int j = 0, is = 0; j < kQK_K; j += 64, is += 2, q += 32) {
      int sc, m;
      scale_min_k4(is, b[i].scales, sc, m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      scale_min_k4(is + 1, b[i].scales, sc, m);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}
void dequant_q6_k(const BlockQ6_K* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    const std::uint8_t* ql = b[i].ql;
    const std::uint8_t* qh = b[i].qh;
    const std::int8_t* sc = b[i].scales;
    for (int n = 0; n < kQK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[is] * q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2] * q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4] * q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6] * q4);
      }
    }
  }
}

// ---- quantizers (GGML's reference round-to-nearest) ----------------------------
void quant_q4_0(const float* x, BlockQ4_0* b, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, x += kQK) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kQK; ++j)
      if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); max = x[j]; }
    const float d = max / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    for (int j = 0; j < 16; ++j) {
      const int q0 = std::min(15, static_cast<int>(static_cast<std::int8_t>(x[j] * id + 8.5f)));
      const int q1 = std::min(15, static_cast<int>(static_cast<std::int8_t>(x[j + 16] * id + 8.5f)));
      b[i].qs[j] = static_cast<std::uint8_t>(q0 | (q1 << 4));
    }
  }
}
void quant_q4_1(const float* x, BlockQ4_1* b, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, x += kQK) {
    float lo = x[0], hi = x[0];
    for (int j = 1; j < kQK; ++j) { lo = std::min(lo, x[j]); hi = std::max(hi, x[j]); }
    const float d = (hi - lo) / 15.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    b[i].m = f32_to_f16(lo);
    for (int j = 0; j < 16; ++j) {
      const int q0 = std::min(15, static_cast<int>(static_cast<std::int8_t>((x[j] - lo) * id + 0.5f)));
      const int q1 = std::min(15, static_cast<int>(static_cast<std::int8_t>((x[j + 16] - lo) * id + 0.5f)));
      b[i].qs[j] = static_cast<std::uint8_t>(q0 | (q1 << 4));
    }
  }
}
template <class B>
void quant_q8(const float* x, B* b, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, x += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    int sum = 0;
    for (int j = 0; j < kQK; ++j) {
      b[i].qs[j] = static_cast<std::int8_t>(std::lround(x[j] * id));
      sum += b[i].qs[j];
    }
    if constexpr (requires { b[i].s; }) b[i].s = f32_to_f16(static_cast<float>(sum) * d);
  }
}

}  // namespace

float f16_to_f32(std::uint16_t h) noexcept {
  // GGML's branch-free conversion: renormalise via float arithmetic.
  const std::uint32_t w = static_cast<std::uint32_t>(h) << 16;
  const std::uint32_t sign = w & 0x80000000u;
  const std::uint32_t two_w = w + w;
  const float exp_scale = from_bits(0x7800000u);  // 2^-112
  const float normalized = from_bits((two_w >> 4) + (0xE0u << 23)) * exp_scale;
  const float denormalized = from_bits((two_w >> 17) | (126u << 23)) - 0.5f;
  const std::uint32_t result = sign | (two_w < (1u << 27) ? to_bits(denormalized) : to_bits(normalized));
  return from_bits(result);
}

std::uint16_t f32_to_f16(float f) noexcept {
  const float scale_to_inf = from_bits(0x77800000u), scale_to_zero = from_bits(0x08800000u);
  float base = (std::fabs(f) * scale_to_inf) * scale_to_zero;
  const std::uint32_t w = to_bits(f), shl1_w = w + w, sign = w & 0x80000000u;
  std::uint32_t bias = shl1_w & 0xFF000000u;
  if (bias < 0x71000000u) bias = 0x71000000u;
  base = from_bits((bias >> 1) + 0x07800000u) + base;
  const std::uint32_t bits = to_bits(base);
  const std::uint32_t exp_bits = (bits >> 13) & 0x00007C00u, mantissa_bits = bits & 0x00000FFFu;
  const std::uint32_t nonsign = exp_bits + mantissa_bits;
  return static_cast<std::uint16_t>((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

float bf16_to_f32(std::uint16_t h) noexcept { return from_bits(static_cast<std::uint32_t>(h) << 16); }

std::uint16_t f32_to_bf16(float f) noexcept {
  const std::uint32_t u = to_bits(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((u >> 16) | 64);  // quiet NaN
  return static_cast<std::uint16_t>((u + (0x7FFFu + ((u >> 16) & 1))) >> 16);  // round to nearest even
}

void dequantize_row(DType t, const void* src, float* dst, std::int64_t n) {
  check_blocks(t, n);
  const std::int64_t nb = n / static_cast<std::int64_t>(traits(t).block_size);
  switch (t) {
    case DType::F32: std::memcpy(dst, src, static_cast<std::size_t>(n) * 4); return;
    case DType::F16: {
      const auto* h = static_cast<const std::uint16_t*>(src);
      for (std::int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
      return;
    }
    case DType::BF16: {
      const auto* h = static_cast<const std::uint16_t*>(src);
      for (std::int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
      return;
    }
    case DType::Q4_0: return dequant_q4_0(static_cast<const BlockQ4_0*>(src), dst, nb);
    case DType::Q4_1: return dequant_q4_1(static_cast<const BlockQ4_1*>(src), dst, nb);
    case DType::Q8_0: return dequant_q8(static_cast<const BlockQ8_0*>(src), dst, nb);
    case DType::Q8_1: return dequant_q8(static_cast<const BlockQ8_1*>(src), dst, nb);
    case DType::Q4_K: return dequant_q4_k(static_cast<const BlockQ4_K*>(src), dst, nb);
    case DType::Q6_K: return dequant_q6_k(static_cast<const BlockQ6_K*>(src), dst, nb);
    default:
      if (is_extra_quant(t)) return dequantize_extra(t, src, dst, nb);
      throw Error(ErrorCode::unsupported, "no dequantizer for type " + std::string(to_string(t)));
  }
}

void quantize_row(DType t, const float* src, void* dst, std::int64_t n) {
  check_blocks(t, n);
  const std::int64_t nb = n / static_cast<std::int64_t>(traits(t).block_size);
  switch (t) {
    case DType::F32: std::memcpy(dst, src, static_cast<std::size_t>(n) * 4); return;
    case DType::F16: {
      auto* h = static_cast<std::uint16_t*>(dst);
      for (std::int64_t i = 0; i < n; ++i) h[i] = f32_to_f16(src[i]);
      return;
    }
    case DType::BF16: {
      auto* h = static_cast<std::uint16_t*>(dst);
      for (std::int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(src[i]);
      return;
    }
    case DType::Q4_0: return quant_q4_0(src, static_cast<BlockQ4_0*>(dst), nb);
    case DType::Q4_1: return quant_q4_1(src, static_cast<BlockQ4_1*>(dst), nb);
    case DType::Q8_0: return quant_q8(src, static_cast<BlockQ8_0*>(dst), nb);
    case DType::Q8_1: return quant_q8(src, static_cast<BlockQ8_1*>(dst), nb);
    case DType::Q4_K: case DType::Q6_K: return quantize_extra(t, src, dst, nb);
    default:
      if (is_extra_quant(t)) return quantize_extra(t, src, dst, nb);
      throw Error(ErrorCode::unsupported, "no quantizer for type " + std::string(to_string(t)));
  }
}

}  // namespace cnai::ops
