// Q5_0, Q5_1, Q2_K, Q3_K, Q5_K, Q8_K (de)quantization; Q4_K and Q6_K
// dequantizers live in quantize.cpp, their quantizers here.
#include "ops/quantize_k.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cnai/ops/quantize.hpp"
#include "ops/quant_blocks.hpp"

namespace cnai::ops {
namespace {

int nearest(float v) { return static_cast<int>(std::nearbyint(v)); }
float f16(std::uint16_t h) { return f16_to_f32(h); }

// ---- dequantizers (GGML's dequantize_row_*) ---------------------------------------
template <class B, bool kMin>
void dequant_q5(const B* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, y += kQK) {
    std::uint32_t qh;
    std::memcpy(&qh, b[i].qh, 4);
    const float d = f16(b[i].d);
    float m = -16.0f * d;
    if constexpr (kMin) m = f16(b[i].m);
    for (int j = 0; j < 16; ++j) {
      const int lo = (b[i].qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
      const int hi = (b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      y[j] = static_cast<float>(lo) * d + m;
      y[j + 16] = static_cast<float>(hi) * d + m;
    }
  }
}

void dequant_q2_k(const BlockQ2_K* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i) {
    const float d = f16(b[i].d), dmin = f16(b[i].dmin);
    for (int h = 0, is = 0; h < 2; ++h) {
      const std::uint8_t* q = b[i].qs + 32 * h;
      for (int j = 0; j < 4; ++j)
        for (int half = 0; half < 2; ++half, ++is) {
          const float dl = d * static_cast<float>(b[i].scales[is] & 0xF);
          const float ml = dmin * static_cast<float>(b[i].scales[is] >> 4);
          for (int l = 16 * half; l < 16 * half + 16; ++l) *y++ = dl * static_cast<float>((q[l] >> (2 * j)) & 3) - ml;
        }
    }
  }
}

void dequant_q3_k(const BlockQ3_K* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i) {
    const float d = f16(b[i].d);
    std::uint8_t sc[16];
    unpack_scales_q3(b[i].scales, sc);
    for (int h = 0, is = 0; h < 2; ++h) {
      const std::uint8_t* q = b[i].qs + 32 * h;
      for (int j = 0; j < 4; ++j) {
        const int bit = 4 * h + j;
        for (int half = 0; half < 2; ++half, ++is) {
          const float dl = d * static_cast<float>(sc[is] - 32);
          for (int l = 16 * half; l < 16 * half + 16; ++l) {
            const int v = ((q[l] >> (2 * j)) & 3) - ((b[i].hmask[l] >> bit) & 1 ? 0 : 4);
            *y++ = dl * static_cast<float>(v);
          }
        }
      }
    }
  }
}

void dequant_q5_k(const BlockQ5_K* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i) {
    const float d = f16(b[i].d), dmin = f16(b[i].dmin);
    std::uint8_t sc[8], mn[8];
    unpack_scales_k4(b[i].scales, sc, mn);
    for (int j = 0; j < 4; ++j) {
      const std::uint8_t* ql = b[i].qs + 32 * j;
      for (int half = 0; half < 2; ++half) {
        const float dl = d * static_cast<float>(sc[2 * j + half]), ml = dmin * static_cast<float>(mn[2 * j + half]);
        const int bit = 2 * j + half;
        for (int l = 0; l < 32; ++l) {
          const int v = (half ? ql[l] >> 4 : ql[l] & 0xF) | (((b[i].qh[l] >> bit) & 1) << 4);
          *y++ = dl * static_cast<float>(v) - ml;
        }
      }
    }
  }
}

void dequant_q8_k(const BlockQ8_K* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i)
    for (int j = 0; j < kQK_K; ++j) *y++ = b[i].d * static_cast<float>(b[i].qs[j]);
}

// ---- quantizers -------------------------------------------------------------------
// GGML's quantize_row_q5_0_ref / q5_1_ref.
template <class B, bool kMin>
void quant_q5(const float* x, B* b, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, x += kQK) {
    float d, id, lo = 0.0f;
    if constexpr (kMin) {
      lo = *std::min_element(x, x + kQK);
      const float hi = *std::max_element(x, x + kQK);
      d = (hi - lo) / 31.0f;
      b[i].m = f32_to_f16(lo);
    } else {
      float amax = 0.0f, max = 0.0f;
      for (int j = 0; j < kQK; ++j)
        if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); max = x[j]; }
      d = max / -16.0f;
    }
    id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    std::uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const float off = kMin ? 0.5f : 16.5f;
      const int q0 = std::min(31, static_cast<int>(static_cast<std::int8_t>((x[j] - lo) * id + off)));
      const int q1 = std::min(31, static_cast<int>(static_cast<std::int8_t>((x[j + 16] - lo) * id + off)));
      b[i].qs[j] = static_cast<std::uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
      qh |= static_cast<std::uint32_t>((q0 >> 4) & 1) << j;
      qh |= static_cast<std::uint32_t>((q1 >> 4) & 1) << (j + 16);
    }
    std::memcpy(b[i].qh, &qh, 4);
  }
}

// GGML's quantize_row_q8_K_ref: the largest magnitude maps to -127.
void quant_q8_k(const float* x, BlockQ8_K* b, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, x += kQK_K) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kQK_K; ++j)
      if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); max = x[j]; }
    std::memset(&b[i], 0, sizeof b[i]);
    if (amax == 0.0f) continue;
    const float iscale = -127.0f / max;
    for (int j = 0; j < kQK_K; ++j) b[i].qs[j] = static_cast<std::int8_t>(std::min(127, nearest(iscale * x[j])));
    for (int s = 0; s < 16; ++s) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += b[i].qs[16 * s + j];
      b[i].bsums[s] = static_cast<std::int16_t>(sum);
    }
    b[i].d = 1.0f / iscale;
  }
}

// Sub-block (scale, min) of an asymmetric quantizer with levels 0..qmax: the min is
// never above 0, as GGML's K-quants store x = d·q − m with m >= 0.
void affine_fit(const float* x, int n, int qmax, float& scale, float& min) {
  float lo = std::min(0.0f, *std::min_element(x, x + n));
  const float hi = *std::max_element(x, x + n);
  min = -lo;
  scale = hi > lo ? (hi - lo) / static_cast<float>(qmax) : 0.0f;
}

// Symmetric sub-block scale: the largest magnitude maps to -qneg (GGML's convention).
float symmetric_fit(const float* x, int n, int qneg) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j)
    if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); max = x[j]; }
  return max / static_cast<float>(-qneg);
}

int quant_level(float x, float step, float offset, int lo, int hi) {
  if (step == 0.0f) return std::clamp(0, lo, hi);
  return std::clamp(nearest((x + offset) / step), lo, hi);
}

// Q4_K / Q5_K: 8 sub-blocks of 32, 6-bit scales and mins under f16 d and dmin.
template <int kBits, class B>
void quant_k4(const float* x, B* b, std::int64_t nb) {
  constexpr int qmax = (1 << kBits) - 1;
  for (std::int64_t i = 0; i < nb; ++i, x += kQK_K) {
    std::memset(&b[i], 0, sizeof b[i]);
    float scale[8], min[8], max_scale = 0.0f, max_min = 0.0f;
    for (int s = 0; s < 8; ++s) {
      affine_fit(x + 32 * s, 32, qmax, scale[s], min[s]);
      max_scale = std::max(max_scale, scale[s]);
      max_min = std::max(max_min, min[s]);
    }
    const float d = f16(f32_to_f16(max_scale / 63.0f)), dmin = f16(f32_to_f16(max_min / 63.0f));
    b[i].d = f32_to_f16(d);
    b[i].dmin = f32_to_f16(dmin);
    for (int s = 0; s < 8; ++s) {
      const int ls = d > 0.0f ? std::clamp(nearest(scale[s] / d), 0, 63) : 0;
      const int lm = dmin > 0.0f ? std::clamp(nearest(min[s] / dmin), 0, 63) : 0;
      if (s < 4) {
        b[i].scales[s] = static_cast<std::uint8_t>(ls);
        b[i].scales[s + 4] = static_cast<std::uint8_t>(lm);
      } else {
        b[i].scales[s + 4] = static_cast<std::uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
        b[i].scales[s - 4] |= static_cast<std::uint8_t>((ls >> 4) << 6);
        b[i].scales[s] |= static_cast<std::uint8_t>((lm >> 4) << 6);
      }
      const float step = d * static_cast<float>(ls), off = dmin * static_cast<float>(lm);
      const int j = s / 2, high = s % 2;
      for (int l = 0; l < 32; ++l) {
        const int q = quant_level(x[32 * s + l], step, off, 0, qmax);
        b[i].qs[32 * j + l] |= static_cast<std::uint8_t>((q & 0xF) << (4 * high));
        if constexpr (kBits == 5) b[i].qh[l] |= static_cast<std::uint8_t>(((q >> 4) & 1) << s);
      }
    }
  }
}

void quant_q6_k(const float* x, BlockQ6_K* b, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, x += kQK_K) {
    std::memset(&b[i], 0, sizeof b[i]);
    float scale[16], max_scale = 0.0f, amax = 0.0f;
    for (int s = 0; s < 16; ++s) {
      scale[s] = symmetric_fit(x + 16 * s, 16, 32);
      if (std::fabs(scale[s]) > amax) { amax = std::fabs(scale[s]); max_scale = scale[s]; }
    }
    const float d = f16(f32_to_f16(max_scale / -128.0f));
    b[i].d = f32_to_f16(d);
    for (int s = 0; s < 16; ++s) {
      const int ls = d != 0.0f ? std::clamp(nearest(scale[s] / d), -128, 127) : 0;
      b[i].scales[s] = static_cast<std::int8_t>(ls);
      const float step = d * static_cast<float>(ls);
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * s + l, h = e / 128, t = (e % 128) / 32, pos = e % 32;
        const int q = quant_level(x[e], step, 0.0f, -32, 31) + 32;
        b[i].ql[64 * h + pos + 32 * (t & 1)] |= static_cast<std::uint8_t>((q & 0xF) << (4 * (t >> 1)));
        b[i].qh[32 * h + pos] |= static_cast<std::uint8_t>((q >> 4) << (2 * t));
      }
    }
  }
}

void quant_q3_k(const float* x, BlockQ3_K* b, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, x += kQK_K) {
    std::memset(&b[i], 0, sizeof b[i]);
    float scale[16], max_scale = 0.0f, amax = 0.0f;
    for (int s = 0; s < 16; ++s) {
      scale[s] = symmetric_fit(x + 16 * s, 16, 4);
      if (std::fabs(scale[s]) > amax) { amax = std::fabs(scale[s]); max_scale = scale[s]; }
    }
    const float d = f16(f32_to_f16(max_scale / -32.0f));
    b[i].d = f32_to_f16(d);
    std::uint8_t l6[16], q[kQK_K];
    for (int s = 0; s < 16; ++s) {
      const int ls = d != 0.0f ? std::clamp(nearest(scale[s] / d), -32, 31) : 0;
      l6[s] = static_cast<std::uint8_t>(ls + 32);
      const float step = d * static_cast<float>(ls);
      for (int e = 16 * s; e < 16 * s + 16; ++e) q[e] = static_cast<std::uint8_t>(quant_level(x[e], step, 0.0f, -4, 3) + 4);
    }
    pack_quants_q3(q, b[i].qs, b[i].hmask);
    pack_scales_q3(l6, b[i].scales);
  }
}

void quant_q2_k(const float* x, BlockQ2_K* b, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, x += kQK_K) {
    std::memset(&b[i], 0, sizeof b[i]);
    float scale[16], min[16], max_scale = 0.0f, max_min = 0.0f;
    for (int s = 0; s < 16; ++s) {
      affine_fit(x + 16 * s, 16, 3, scale[s], min[s]);
      max_scale = std::max(max_scale, scale[s]);
      max_min = std::max(max_min, min[s]);
    }
    const float d = f16(f32_to_f16(max_scale / 15.0f)), dmin = f16(f32_to_f16(max_min / 15.0f));
    b[i].d = f32_to_f16(d);
    b[i].dmin = f32_to_f16(dmin);
    for (int s = 0; s < 16; ++s) {
      const int ls = d > 0.0f ? std::clamp(nearest(scale[s] / d), 0, 15) : 0;
      const int lm = dmin > 0.0f ? std::clamp(nearest(min[s] / dmin), 0, 15) : 0;
      b[i].scales[s] = static_cast<std::uint8_t>(ls | (lm << 4));
      const float step = d * static_cast<float>(ls), off = dmin * static_cast<float>(lm);
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * s + l, h = e / 128, j = (e % 128) / 32, pos = e % 32;
        b[i].qs[32 * h + pos] |= static_cast<std::uint8_t>(quant_level(x[e], step, off, 0, 3) << (2 * j));
      }
    }
  }
}

}  // namespace

void unpack_scales_k4(const std::uint8_t* q, std::uint8_t* scales, std::uint8_t* mins) noexcept {
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      scales[j] = q[j] & 63;
      mins[j] = q[j + 4] & 63;
    } else {
      scales[j] = static_cast<std::uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
      mins[j] = static_cast<std::uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
  }
}

void pack_scales_q3(const std::uint8_t* scales, std::uint8_t* q) noexcept {
  std::memset(q, 0, 12);
  for (int s = 0; s < 16; ++s) {
    const int l6 = scales[s];
    if (s < 8) q[s] = static_cast<std::uint8_t>(q[s] | (l6 & 0xF));
    else q[s - 8] = static_cast<std::uint8_t>(q[s - 8] | (l6 & 0xF) << 4);
    q[8 + s % 4] = static_cast<std::uint8_t>(q[8 + s % 4] | (l6 >> 4) << (2 * (s / 4)));
  }
}

void pack_quants_q3(const std::uint8_t* q, std::uint8_t* qs, std::uint8_t* hmask) noexcept {
  std::memset(qs, 0, 64);
  std::memset(hmask, 0, 32);
  for (int e = 0; e < kQK_K; ++e) {
    const int h = e / 128, j = (e % 128) / 32, pos = e % 32;
    qs[32 * h + pos] = static_cast<std::uint8_t>(qs[32 * h + pos] | (q[e] & 3) << (2 * j));
    if (q[e] & 4) hmask[pos] = static_cast<std::uint8_t>(hmask[pos] | 1u << (4 * h + j));
  }
}

void unpack_scales_q3(const std::uint8_t* q, std::uint8_t* scales) noexcept {
  for (int s = 0; s < 16; ++s) {
    const int low = s < 8 ? q[s] & 0xF : q[s - 8] >> 4;
    const int high = (q[8 + s % 4] >> (2 * (s / 4))) & 3;
    scales[s] = static_cast<std::uint8_t>(low | (high << 4));
  }
}

bool is_extra_quant(DType t) noexcept {
  switch (t) {
    case DType::Q5_0: case DType::Q5_1: case DType::Q2_K: case DType::Q3_K: case DType::Q5_K: case DType::Q8_K:
      return true;
    default:
      return false;
  }
}

void dequantize_extra(DType t, const void* src, float* dst, std::int64_t nb) {
  switch (t) {
    case DType::Q5_0: return dequant_q5<BlockQ5_0, false>(static_cast<const BlockQ5_0*>(src), dst, nb);
    case DType::Q5_1: return dequant_q5<BlockQ5_1, true>(static_cast<const BlockQ5_1*>(src), dst, nb);
    case DType::Q2_K: return dequant_q2_k(static_cast<const BlockQ2_K*>(src), dst, nb);
    case DType::Q3_K: return dequant_q3_k(static_cast<const BlockQ3_K*>(src), dst, nb);
    case DType::Q5_K: return dequant_q5_k(static_cast<const BlockQ5_K*>(src), dst, nb);
    case DType::Q8_K: return dequant_q8_k(static_cast<const BlockQ8_K*>(src), dst, nb);
    default: return;
  }
}

void quantize_extra(DType t, const float* src, void* dst, std::int64_t nb) {
  switch (t) {
    case DType::Q5_0: return quant_q5<BlockQ5_0, false>(src, static_cast<BlockQ5_0*>(dst), nb);
    case DType::Q5_1: return quant_q5<BlockQ5_1, true>(src, static_cast<BlockQ5_1*>(dst), nb);
    case DType::Q2_K: return quant_q2_k(src, static_cast<BlockQ2_K*>(dst), nb);
    case DType::Q3_K: return quant_q3_k(src, static_cast<BlockQ3_K*>(dst), nb);
    case DType::Q4_K: return quant_k4<4>(src, static_cast<BlockQ4_K*>(dst), nb);
    case DType::Q5_K: return quant_k4<5>(src, static_cast<BlockQ5_K*>(dst), nb);
    case DType::Q6_K: return quant_q6_k(src, static_cast<BlockQ6_K*>(dst), nb);
    case DType::Q8_K: return quant_q8_k(src, static_cast<BlockQ8_K*>(dst), nb);
    default: return;
  }
}

}  // namespace cnai::ops
