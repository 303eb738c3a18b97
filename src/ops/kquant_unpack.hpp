// One form for every K-quant super-block (private to src/ops): unsigned quants
// q[256] and, per 16 elements s = e / 16, an integer scale sc[s] and offset mn[s],
// so that element e = d·sc[s]·q[e] − dm·mn[s]. Against Q8_K activations the dot
// of a super-block is then dx·(d·Σ_s sc[s]·Σ_{e∈s} q[e]·x[e] − dm·Σ_s mn[s]·bsum[s])
// for every type; the SIMD families build the same form in registers.
#pragma once

#include <cstdint>
#include <cstring>

#include "cnai/ops/quantize.hpp"
#include "cnai/tensor/dtype.hpp"
#include "ops/quant_blocks.hpp"
#include "ops/quantize_k.hpp"

namespace cnai::ops {

struct KUnpacked {
  std::uint8_t q[kQK_K];
  std::int16_t sc[16], mn[16];
  float d, dm;
};

inline bool is_k_quant(DType t) noexcept {
  return t == DType::Q2_K || t == DType::Q3_K || t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K;
}

/// Super-block `blk` of type t (a K-quant) in the common form.
inline void unpack_k(DType t, const std::uint8_t* blk, KUnpacked& u) noexcept {
  switch (t) {
    case DType::Q2_K: {
      BlockQ2_K b;
      std::memcpy(&b, blk, sizeof b);
      for (int e = 0; e < kQK_K; ++e) u.q[e] = (b.qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
      for (int s = 0; s < 16; ++s) {
        u.sc[s] = b.scales[s] & 0xF;
        u.mn[s] = b.scales[s] >> 4;
      }
      u.d = f16_to_f32(b.d);
      u.dm = f16_to_f32(b.dmin);
      return;
    }
    case DType::Q3_K: {
      BlockQ3_K b;
      std::memcpy(&b, blk, sizeof b);
      for (int e = 0; e < kQK_K; ++e) {
        const int h = e / 128, j = (e % 128) / 32, l = e % 32;
        u.q[e] = static_cast<std::uint8_t>(((b.qs[32 * h + l] >> (2 * j)) & 3) | (((b.hmask[l] >> (4 * h + j)) & 1) << 2));
      }
      std::uint8_t sc[16];
      unpack_scales_q3(b.scales, sc);
      for (int s = 0; s < 16; ++s) {
        u.sc[s] = static_cast<std::int16_t>(sc[s] - 32);
        u.mn[s] = static_cast<std::int16_t>(4 * u.sc[s]);  // (q − 4)·sc
      }
      u.d = u.dm = f16_to_f32(b.d);
      return;
    }
    case DType::Q4_K: case DType::Q5_K: {
      const bool five = t == DType::Q5_K;
      std::uint16_t d, dmin;
      std::memcpy(&d, blk, 2);
      std::memcpy(&dmin, blk + 2, 2);
      const std::uint8_t* scales = blk + 4;
      const std::uint8_t* qh = blk + 16;
      const std::uint8_t* qs = five ? blk + 48 : blk + 16;
      for (int e = 0; e < kQK_K; ++e) {
        const int j = e / 64, high = (e / 32) % 2, l = e % 32;
        int v = (qs[32 * j + l] >> (4 * high)) & 0xF;
        if (five) v |= ((qh[l] >> (e / 32)) & 1) << 4;
        u.q[e] = static_cast<std::uint8_t>(v);
      }
      std::uint8_t sc[8], mn[8];
      unpack_scales_k4(scales, sc, mn);
      for (int s = 0; s < 16; ++s) {
        u.sc[s] = sc[s / 2];
        u.mn[s] = mn[s / 2];
      }
      u.d = f16_to_f32(d);
      u.dm = f16_to_f32(dmin);
      return;
    }
    default: {  // Q6_K
      BlockQ6_K b;
      std::memcpy(&b, blk, sizeof b);
      for (int e = 0; e < kQK_K; ++e) {
        const int h = e / 128, t4 = (e % 128) / 32, l = e % 32;
        const int lo = (b.ql[64 * h + l + 32 * (t4 & 1)] >> (4 * (t4 >> 1))) & 0xF;
        const int hi = (b.qh[32 * h + l] >> (2 * t4)) & 3;
        u.q[e] = static_cast<std::uint8_t>(lo | (hi << 4));
      }
      for (int s = 0; s < 16; ++s) {
        u.sc[s] = b.scales[s];
        u.mn[s] = static_cast<std::int16_t>(32 * b.scales[s]);  // (q − 32)·sc
      }
      u.d = u.dm = f16_to_f32(b.d);
      return;
    }
  }
}

}  // namespace cnai::ops
