// Portable matmul kernels: the plain reference every SIMD family is tested
// against, and the fallback on CPUs without AVX2.
#include <algorithm>
#include <cmath>

#include "cnai/ops/quantize.hpp"
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
                               nullptr};
  return k;
}

}  // namespace cnai::ops
