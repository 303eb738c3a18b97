// Portable matmul kernels: the plain reference every SIMD family is tested
// against, and the fallback on CPUs without AVX2.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cnai/ops/quantize.hpp"
#include "ops/kquant_unpack.hpp"
#include "ops/matmul_kernels.hpp"
#include "ops/quant_blocks.hpp"

namespace cnai::ops {
namespace {

// Rounds to f16 precision, as GGML stores Q8 scales.
float f16_round(float v) { return f16_to_f32(f32_to_f16(v)); }

void quantize_act(const float* x, std::int64_t m, std::int64_t ldx, const ActQ8& out) {
  const std::int64_t nb = out.k / kQK;
  for (std::int64_t i = 0; i < m; ++i) {
    const float* xr = x + i * ldx;
    std::int8_t* q = out.qs + i * out.k;
    for (std::int64_t b = 0; b < nb; ++b, xr += kQK, q += kQK) {
      float amax = 0.0f;
      for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(xr[j]));
      const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
      int sum = 0;
      for (int j = 0; j < kQK; ++j) {
        q[j] = static_cast<std::int8_t>(std::lround(xr[j] * id));
        sum += q[j];
      }
      out.d[i * nb + b] = f16_round(d);
      out.s[i * nb + b] = f16_round(static_cast<float>(sum) * d);
    }
  }
}

// One weight row against one activation row: Σ_blocks block_dot(...).
template <class Block, class BlockDot>
void quant_tile(const ActQ8& x, std::int64_t m, const WeightRows& w, float* y, std::int64_t ldy,
                BlockDot block_dot) {
  const std::int64_t nb = x.k / kQK;
  for (std::int64_t n = w.n0; n < w.n1; ++n) {
    const auto* wb = reinterpret_cast<const Block*>(w.w + static_cast<std::size_t>(n) * w.w_stride);
    for (std::int64_t i = 0; i < m; ++i) {
      float acc = 0.0f;
      for (std::int64_t b = 0; b < nb; ++b)
        acc += block_dot(wb[b], x.qs + i * x.k + b * kQK, x.d[i * nb + b], x.s[i * nb + b]);
      y[i * ldy + n] = acc;
    }
  }
}

void q4_0_tile(const ActQ8& x, std::int64_t m, const WeightRows& w, float* y, std::int64_t ldy) {
  quant_tile<BlockQ4_0>(x, m, w, y, ldy, [](const BlockQ4_0& b, const std::int8_t* q, float d, float) {
    int sum = 0;
    for (int j = 0; j < 16; ++j) sum += ((b.qs[j] & 0xF) - 8) * q[j] + ((b.qs[j] >> 4) - 8) * q[j + 16];
    return f16_to_f32(b.d) * d * static_cast<float>(sum);
  });
}

void q4_1_tile(const ActQ8& x, std::int64_t m, const WeightRows& w, float* y, std::int64_t ldy) {
  quant_tile<BlockQ4_1>(x, m, w, y, ldy, [](const BlockQ4_1& b, const std::int8_t* q, float d, float s) {
    int sum = 0;
    for (int j = 0; j < 16; ++j) sum += (b.qs[j] & 0xF) * q[j] + (b.qs[j] >> 4) * q[j + 16];
    return f16_to_f32(b.d) * d * static_cast<float>(sum) + f16_to_f32(b.m) * s;
  });
}

void q8_0_tile(const ActQ8& x, std::int64_t m, const WeightRows& w, float* y, std::int64_t ldy) {
  quant_tile<BlockQ8_0>(x, m, w, y, ldy, [](const BlockQ8_0& b, const std::int8_t* q, float d, float) {
    int sum = 0;
    for (int j = 0; j < kQK; ++j) sum += b.qs[j] * q[j];
    return f16_to_f32(b.d) * d * static_cast<float>(sum);
  });
}

template <class B, bool kMin>
void q5_tile(const ActQ8& x, std::int64_t m, const WeightRows& w, float* y, std::int64_t ldy) {
  quant_tile<B>(x, m, w, y, ldy, [](const B& b, const std::int8_t* q, float d, float s) {
    std::uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    int sum = 0, sum_q = 0;
    for (int j = 0; j < 16; ++j) {
      sum += ((b.qs[j] & 0xF) | (((qh >> j) & 1) << 4)) * q[j];
      sum += ((b.qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) * q[j + 16];
      sum_q += q[j] + q[j + 16];
    }
    if constexpr (kMin) return f16_to_f32(b.d) * d * static_cast<float>(sum) + f16_to_f32(b.m) * s;
    else return f16_to_f32(b.d) * d * static_cast<float>(sum - 16 * sum_q);
  });
}

// GGML's quantize_row_q8_K_ref, into the struct-of-arrays layout.
void quantize_act_k(const float* x, std::int64_t m, std::int64_t ldx, const ActQ8K& out) {
  const std::int64_t nb = out.k / kQK_K;
  BlockQ8_K blk;
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t b = 0; b < nb; ++b) {
      quantize_row(DType::Q8_K, x + i * ldx + b * kQK_K, &blk, kQK_K);
      std::memcpy(out.qs + i * out.k + b * kQK_K, blk.qs, kQK_K);
      std::memcpy(out.bsums + (i * nb + b) * 16, blk.bsums, sizeof blk.bsums);
      out.d[i * nb + b] = blk.d;
    }
}

// Every K-quant through the common form (kquant_unpack.hpp).
template <DType T>
void k_tile(const ActQ8K& x, std::int64_t m, const WeightRows& w, float* y, std::int64_t ldy) {
  const std::int64_t nb = x.k / kQK_K;
  const std::size_t bytes = traits(T).type_size;
  KUnpacked u;
  for (std::int64_t n = w.n0; n < w.n1; ++n) {
    const std::uint8_t* wr = w.w + static_cast<std::size_t>(n) * w.w_stride;
    for (std::int64_t i = 0; i < m; ++i) y[i * ldy + n] = 0.0f;
    for (std::int64_t b = 0; b < nb; ++b) {
      unpack_k(T, wr + static_cast<std::size_t>(b) * bytes, u);
      for (std::int64_t i = 0; i < m; ++i) {
        const std::int8_t* q = x.qs + i * x.k + b * kQK_K;
        const std::int16_t* bs = x.bsums + (i * nb + b) * 16;
        int sum = 0, mins = 0;
        for (int s = 0; s < 16; ++s) {
          int dot = 0;
          for (int e = 16 * s; e < 16 * s + 16; ++e) dot += u.q[e] * q[e];
          sum += u.sc[s] * dot;
          mins += u.mn[s] * bs[s];
        }
        const float dx = x.d[i * nb + b];
        y[i * ldy + n] += dx * (u.d * static_cast<float>(sum) - u.dm * static_cast<float>(mins));
      }
    }
  }
}

template <class Elem, float (*ToF32)(Elem)>
void float_tile(const float* x, std::int64_t ldx, std::int64_t m, std::int64_t k, const WeightRows& w,
                float* y, std::int64_t ldy) {
  for (std::int64_t n = w.n0; n < w.n1; ++n) {
    const auto* wr = reinterpret_cast<const Elem*>(w.w + static_cast<std::size_t>(n) * w.w_stride);
    for (std::int64_t i = 0; i < m; ++i) {
      const float* xr = x + i * ldx;
      float acc = 0.0f;
      for (std::int64_t j = 0; j < k; ++j) acc += xr[j] * ToF32(wr[j]);
      y[i * ldy + n] = acc;
    }
  }
}

float f32_id(float v) { return v; }
float f16_conv(std::uint16_t v) { return f16_to_f32(v); }
float bf16_conv(std::uint16_t v) { return bf16_to_f32(v); }

}  // namespace

const MatmulKernels& matmul_kernels_scalar() {
  static const MatmulKernels k{"scalar",
                               quantize_act,
                               q4_0_tile,
                               q4_1_tile,
                               q8_0_tile,
                               float_tile<float, f32_id>,
                               float_tile<std::uint16_t, f16_conv>,
                               float_tile<std::uint16_t, bf16_conv>,
                               nullptr,
                               nullptr,
                               q5_tile<BlockQ5_0, false>,
                               q5_tile<BlockQ5_1, true>,
                               nullptr,
                               nullptr,
                               quantize_act_k,
                               k_tile<DType::Q2_K>,
                               k_tile<DType::Q3_K>,
                               k_tile<DType::Q4_K>,
                               k_tile<DType::Q5_K>,
                               k_tile<DType::Q6_K>,
                               nullptr,
                               nullptr,
                               nullptr,
                               nullptr};
  return k;
}

}  // namespace cnai::ops
