// AVX-512 (F/BW/VL/VNNI) matmul kernels. Quantized weights: vpdpbusd dots of
// unsigned weight bytes with signed Q8 activations, 2 blocks per register,
// register-blocked 4 activation rows x 4 weight rows so each weight block is
// unpacked once per 4 rows of x. Float weights: F16C/bf16-shift conversion + FMA.
// Packed layouts (matmul_pack.hpp), the K-quants' included: lane r of every
// vector is weight row r of a 16-row group, so one linear weight stream and no
// horizontal sums.
#include <immintrin.h>

// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own
// _mm512_undefined_*() placeholders (reductions, casts); not our code.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <cstring>
#include <cmath>
#include <type_traits>
#include <vector>

#include "ops/kquant_simd.hpp"
#include "ops/matmul_kernels.hpp"
#include "ops/matmul_pack.hpp"
#include "ops/quant_blocks.hpp"

namespace cnai::ops {
namespace {

constexpr int kMR = 4;  // activation rows per micro tile
constexpr int kNR = 4;  // weight rows per micro tile

// ---- activations ----------------------------------------------------------------
float f16_round(float v) { return _cvtsh_ss(_cvtss_sh(v, _MM_FROUND_TO_NEAREST_INT)); }

void quantize_act(const float* x, std::int64_t m, std::int64_t ldx, const ActQ8& out) {
  const std::int64_t nb = out.k / kQK;
  const __m512 sign = _mm512_set1_ps(-0.0f);
  for (std::int64_t i = 0; i < m; ++i) {
    const float* xr = x + i * ldx;
    std::int8_t* q = out.qs + i * out.k;
    for (std::int64_t b = 0; b < nb; ++b, xr += kQK, q += kQK) {
      const __m512 a = _mm512_loadu_ps(xr), c = _mm512_loadu_ps(xr + 16);
      const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_andnot_ps(sign, a), _mm512_andnot_ps(sign, c)));
      const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
      const __m512 vid = _mm512_set1_ps(id);
      const __m512i qa = _mm512_cvtps_epi32(_mm512_mul_ps(a, vid));
      const __m512i qc = _mm512_cvtps_epi32(_mm512_mul_ps(c, vid));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtsepi32_epi8(qa));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16), _mm512_cvtsepi32_epi8(qc));
      const int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(qa, qc));
      out.d[i * nb + b] = f16_round(d);
      out.s[i * nb + b] = f16_round(static_cast<float>(sum) * d);
    }
  }
}

// GGML's quantize_row_q8_K: the element of largest magnitude maps to -127.
void quantize_act_k(const float* x, std::int64_t m, std::int64_t ldx, const ActQ8K& out) {
  const std::int64_t nb = out.k / kQK_K;
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t b = 0; b < nb; ++b) {
      const float* xb = x + i * ldx + b * kQK_K;
      __m512 v[16], hi = _mm512_loadu_ps(xb), lo = hi;
      for (int c = 0; c < 16; ++c) {
        v[c] = _mm512_loadu_ps(xb + 16 * c);
        hi = _mm512_max_ps(hi, v[c]);
        lo = _mm512_min_ps(lo, v[c]);
      }
      const float vmax = _mm512_reduce_max_ps(hi), vmin = _mm512_reduce_min_ps(lo);
      float max = vmax >= -vmin ? vmax : vmin;
      if (vmax == -vmin)  // a tie of magnitudes: GGML keeps the first one
        for (int j = 0; j < kQK_K; ++j)
          if (std::fabs(xb[j]) == vmax) { max = xb[j]; break; }
      std::int8_t* q = out.qs + i * out.k + b * kQK_K;
      std::int16_t* bs = out.bsums + (i * nb + b) * 16;
      if (max == 0.0f) {
        std::memset(q, 0, kQK_K);
        std::memset(bs, 0, 32);
        out.d[i * nb + b] = 0.0f;
        continue;
      }
      const float iscale = -127.0f / max;
      const __m512 vs = _mm512_set1_ps(iscale);
      for (int c = 0; c < 16; ++c) {
        const __m512i qi = _mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v[c], vs)), _mm512_set1_epi32(127));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16 * c), _mm512_cvtsepi32_epi8(qi));
        bs[c] = static_cast<std::int16_t>(_mm512_reduce_add_epi32(qi));
      }
      out.d[i * nb + b] = 1.0f / iscale;
    }
}

// Lanes 0..7 = p[0], lanes 8..15 = p[1] (p[1] read only if `two`, else 0).
template <bool kTwo>
__m512 scale_pair(const float* p) {
  // _mm_loadl_epi64 is an unaligned-safe 8-byte load (p is only 4-byte aligned).
  const __m128 v = kTwo ? _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))) : _mm_load_ss(p);
  const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(v));
}

// ---- weight formats -----------------------------------------------------------------
// unpack(): one or two blocks' 32 quants as unsigned bytes in natural element order.
// act_bias(): Σ over each 4-byte group of the offset the unsigned weights carry,
// negated, as the dpbusd start value (so the dot equals Σ w·x exactly).
__m512i unpack_nibbles(const std::uint8_t* q0, const std::uint8_t* q1) {
  const __m128i v0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q0));
  const __m128i v1 = q1 ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(q1)) : _mm_setzero_si128();
  const __m512i lo = _mm512_castsi256_si512(_mm256_inserti128_si256(_mm256_castsi128_si256(v0), v1, 1));
  const __m512i hi = _mm512_srli_epi16(lo, 4);
  const __m512i idx = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);  // [v0, v0>>4, v1, v1>>4]
  return _mm512_and_si512(_mm512_permutex2var_epi64(lo, idx, hi), _mm512_set1_epi8(0x0F));
}

struct Q4_0Format {
  static constexpr std::size_t kBytes = sizeof(BlockQ4_0), kQs = 2;
  static constexpr bool kHasMin = false;
  static __m512i unpack(const std::uint8_t* b0, const std::uint8_t* b1) {
    return unpack_nibbles(b0 + kQs, b1 ? b1 + kQs : nullptr);
  }
  static __m512i act_bias(__m512i x) {
    return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(8), x));
  }
};
struct Q4_1Format {
  static constexpr std::size_t kBytes = sizeof(BlockQ4_1), kQs = 4;
  static constexpr bool kHasMin = true;
  static __m512i unpack(const std::uint8_t* b0, const std::uint8_t* b1) {
    return unpack_nibbles(b0 + kQs, b1 ? b1 + kQs : nullptr);
  }
  static __m512i act_bias(__m512i) { return _mm512_setzero_si512(); }
};
struct Q8_0Format {
  static constexpr std::size_t kBytes = sizeof(BlockQ8_0), kQs = 2;
  static constexpr bool kHasMin = false;
  static __m512i unpack(const std::uint8_t* b0, const std::uint8_t* b1) {
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0 + kQs));
    const __m256i v1 = b1 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b1 + kQs)) : _mm256_set1_epi8(-128);
    // w + 128 as unsigned; act_bias subtracts 128·Σx.
    return _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(v0), v1, 1), _mm512_set1_epi8(-128));
  }
  static __m512i act_bias(__m512i x) {
    return _mm512_sub_epi32(_mm512_setzero_si512(),
                            _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(-128), x));
  }
};

// Q5: the nibbles plus 0x10 for every set bit of the block's 32-bit qh.
template <std::size_t kQh>
__m512i fifth_bits(const std::uint8_t* b0, const std::uint8_t* b1) {
  std::uint32_t h0, h1 = 0;
  std::memcpy(&h0, b0 + kQh, 4);
  if (b1) std::memcpy(&h1, b1 + kQh, 4);
  return _mm512_maskz_set1_epi8(static_cast<__mmask64>(h0) | (static_cast<__mmask64>(h1) << 32), 0x10);
}
struct Q5_0Format {
  static constexpr std::size_t kBytes = sizeof(BlockQ5_0), kQs = 6;
  static constexpr bool kHasMin = false;
  static __m512i unpack(const std::uint8_t* b0, const std::uint8_t* b1) {
    return _mm512_or_si512(unpack_nibbles(b0 + kQs, b1 ? b1 + kQs : nullptr), fifth_bits<2>(b0, b1));
  }
  static __m512i act_bias(__m512i x) {
    return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(16), x));
  }
};
struct Q5_1Format {
  static constexpr std::size_t kBytes = sizeof(BlockQ5_1), kQs = 8;
  static constexpr bool kHasMin = true;
  static __m512i unpack(const std::uint8_t* b0, const std::uint8_t* b1) {
    return _mm512_or_si512(unpack_nibbles(b0 + kQs, b1 ? b1 + kQs : nullptr), fifth_bits<4>(b0, b1));
  }
  static __m512i act_bias(__m512i) { return _mm512_setzero_si512(); }
};

// Block scales of one or two blocks: lanes 0..7 = block b, 8..15 = block b+1.
// The 4 bytes at a block's start are f16 d (and f16 m for Q4_1).
struct BlockScales {
  __m512 d, m;
};
template <bool kTwo>
BlockScales block_scales(const std::uint8_t* b0, std::size_t stride) {
  std::uint32_t h0, h1 = 0;
  std::memcpy(&h0, b0, 4);
  if (kTwo) std::memcpy(&h1, b0 + stride, 4);
  const __m512 f = _mm512_zextps128_ps512(_mm_cvtph_ps(_mm_set_epi32(0, 0, static_cast<int>(h1), static_cast<int>(h0))));
  const __m512i id = _mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i im = _mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
  return BlockScales{_mm512_permutexvar_ps(id, f), _mm512_permutexvar_ps(im, f)};
}

struct QuantTile {
  const ActQ8* x;
  std::int64_t i0, nb;
  const std::uint8_t* w[kNR];
};

// Q4_1 adds m·Σx per block: Σ over lanes of m·(4-element partial sums of x).
template <class F, int MR, int NR, bool kTwo>
inline void quant_step(const QuantTile& t, std::int64_t b, __m512 (&acc)[MR][NR]) {
  __m512i w[NR];
  BlockScales sw[NR];
  for (int j = 0; j < NR; ++j) {
    const std::uint8_t* b0 = t.w[j] + static_cast<std::size_t>(b) * F::kBytes;
    w[j] = F::unpack(b0, kTwo ? b0 + F::kBytes : nullptr);
    sw[j] = block_scales<kTwo>(b0, F::kBytes);
  }
  for (int i = 0; i < MR; ++i) {
    const std::int8_t* xq = t.x->qs + (t.i0 + i) * t.x->k + b * kQK;
    const __m512i xv = kTwo ? _mm512_loadu_si512(xq) : _mm512_maskz_loadu_epi8(0xFFFFFFFFull, xq);
    const __m512 sx = scale_pair<kTwo>(t.x->d + (t.i0 + i) * t.nb + b);
    if constexpr (F::kHasMin) {
      const __m512 sum_x = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), xv));
      for (int j = 0; j < NR; ++j) {
        const __m512 dot = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), w[j], xv));
        const __m512 v = _mm512_fmadd_ps(sw[j].m, sum_x, _mm512_mul_ps(dot, sw[j].d));
        acc[i][j] = _mm512_fmadd_ps(v, sx, acc[i][j]);
      }
    } else {
      const __m512i bias = F::act_bias(xv);
      for (int j = 0; j < NR; ++j) {
        const __m512i isum = _mm512_dpbusd_epi32(bias, w[j], xv);
        acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(sw[j].d, sx), acc[i][j]);
      }
    }
  }
}

template <class F, int MR, int NR>
void quant_micro(const QuantTile& t, float* y, std::int64_t ldy) {
  __m512 acc[MR][NR];
  for (auto& row : acc)
    for (auto& a : row) a = _mm512_setzero_ps();
  std::int64_t b = 0;
  for (; b + 2 <= t.nb; b += 2) quant_step<F, MR, NR, true>(t, b, acc);
  if (b < t.nb) quant_step<F, MR, NR, false>(t, b, acc);
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) y[(t.i0 + i) * ldy + j] = _mm512_reduce_add_ps(acc[i][j]);
}

template <class F, int MR>
void quant_micro_nr(int nr, const QuantTile& t, float* y, std::int64_t ldy) {
  switch (nr) {
    case 1: return quant_micro<F, MR, 1>(t, y, ldy);
    case 2: return quant_micro<F, MR, 2>(t, y, ldy);
    case 3: return quant_micro<F, MR, 3>(t, y, ldy);
    default: return quant_micro<F, MR, 4>(t, y, ldy);
  }
}

template <class F>
void quant_tile(const ActQ8& x, std::int64_t m, const WeightRows& w, float* y, std::int64_t ldy) {
  QuantTile t{&x, 0, x.k / kQK, {}};
  for (std::int64_t n = w.n0; n < w.n1; n += kNR) {
    const int nr = static_cast<int>(std::min<std::int64_t>(kNR, w.n1 - n));
    for (int j = 0; j < nr; ++j) t.w[j] = w.w + static_cast<std::size_t>(n + j) * w.w_stride;
    for (t.i0 = 0; t.i0 < m; t.i0 += kMR) {
      switch (std::min<std::int64_t>(kMR, m - t.i0)) {
        case 1: quant_micro_nr<F, 1>(nr, t, y + n, ldy); break;
        case 2: quant_micro_nr<F, 2>(nr, t, y + n, ldy); break;
        case 3: quant_micro_nr<F, 3>(nr, t, y + n, ldy); break;
        default: quant_micro_nr<F, 4>(nr, t, y + n, ldy); break;
      }
    }
  }
}

// ---- K-quants (Q8_K activations) ----------------------------------------------------
// A super-block in 64-byte vectors: q[c] holds sub-blocks 4c..4c+3, one per
// 128-bit lane, and sc[c] their scales in the matching 8 int16 lanes, so
// vpmaddubsw + vpdpwssd give Σ sc·q·x without any horizontal step.
struct KRegs512 {
  __m512i q[4], sc[4];
  __m256i mn;
  float d, dm;
};

template <DType T>
inline void load_k512(const std::uint8_t* blk, KRegs512& r) {
  KRegs k;
  load_k<T>(blk, k);
  const __m512i sc = _mm512_castsi256_si512(k.sc);
  for (int c = 0; c < 4; ++c) {
    r.q[c] = _mm512_inserti64x4(_mm512_castsi256_si512(k.q[2 * c]), k.q[2 * c + 1], 1);
    const short s0 = static_cast<short>(4 * c);
    const __m512i idx = _mm512_set_epi16(s0 + 3, s0 + 3, s0 + 3, s0 + 3, s0 + 3, s0 + 3, s0 + 3, s0 + 3, s0 + 2,
                                         s0 + 2, s0 + 2, s0 + 2, s0 + 2, s0 + 2, s0 + 2, s0 + 2, s0 + 1, s0 + 1,
                                         s0 + 1, s0 + 1, s0 + 1, s0 + 1, s0 + 1, s0 + 1, s0, s0, s0, s0, s0, s0, s0, s0);
    r.sc[c] = _mm512_permutexvar_epi16(idx, sc);
  }
  r.mn = k.mn;
  r.d = k.d;
  r.dm = k.dm;
}

template <DType T>
constexpr std::size_t k_bytes() {
  return T == DType::Q2_K ? 84 : T == DType::Q3_K ? 110 : T == DType::Q4_K ? 144 : T == DType::Q5_K ? 176 : 210;
}

// Activation rows [i0, i0+MR) against one weight row; the float accumulators
// take d·dx·Σ and −dm·dx·Σ mn·bsum per super-block.
template <DType T, int MR>
void k_micro(const ActQ8K& x, std::int64_t i0, const std::uint8_t* w, float* y, std::int64_t ldy) {
  const std::int64_t nb = x.k / kQK_K;
  __m512 acc[MR];
  __m256 acc_min[MR];
  for (int i = 0; i < MR; ++i) {
    acc[i] = _mm512_setzero_ps();
    acc_min[i] = _mm256_setzero_ps();
  }
  for (std::int64_t b = 0; b < nb; ++b) {
    KRegs512 r;
    load_k512<T>(w + static_cast<std::size_t>(b) * k_bytes<T>(), r);
    for (int i = 0; i < MR; ++i) {
      const std::int64_t row = i0 + i;
      const std::int8_t* xq = x.qs + row * x.k + b * kQK_K;
      __m512i isum = _mm512_setzero_si512();
      for (int c = 0; c < 4; ++c)
        isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(r.q[c], _mm512_loadu_si512(xq + 64 * c)), r.sc[c]);
      const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.bsums + (row * nb + b) * 16));
      const float dx = x.d[row * nb + b];
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(dx * r.d), acc[i]);
      acc_min[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(r.mn, bs)), _mm256_set1_ps(-dx * r.dm), acc_min[i]);
    }
  }
  for (int i = 0; i < MR; ++i) {
    const __m256 m = acc_min[i];
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    y[(i0 + i) * ldy] = _mm512_reduce_add_ps(acc[i]) + _mm_cvtss_f32(s);
  }
}

template <DType T>
void k_tile(const ActQ8K& x, std::int64_t m, const WeightRows& w, float* y, std::int64_t ldy) {
  for (std::int64_t n = w.n0; n < w.n1; ++n) {
    const std::uint8_t* wr = w.w + static_cast<std::size_t>(n) * w.w_stride;
    std::int64_t i = 0;
    for (; i + kMR <= m; i += kMR) k_micro<T, kMR>(x, i, wr, y + n, ldy);
    switch (m - i) {
      case 3: k_micro<T, 3>(x, i, wr, y + n, ldy); break;
      case 2: k_micro<T, 2>(x, i, wr, y + n, ldy); break;
      case 1: k_micro<T, 1>(x, i, wr, y + n, ldy); break;
      default: break;
    }
  }
}

// ---- float weights -------------------------------------------------------------------
template <bool kMasked>
__m256i half16(const std::uint16_t* p, __mmask16 m) {
  return kMasked ? _mm256_maskz_loadu_epi16(m, p) : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
struct F32Elem {
  using T = float;
  template <bool kMasked>
  static __m512 load(const float* p, __mmask16 m) { return kMasked ? _mm512_maskz_loadu_ps(m, p) : _mm512_loadu_ps(p); }
};
struct F16Elem {
  using T = std::uint16_t;
  template <bool kMasked>
  static __m512 load(const std::uint16_t* p, __mmask16 m) { return _mm512_cvtph_ps(half16<kMasked>(p, m)); }
};
struct BF16Elem {
  using T = std::uint16_t;
  template <bool kMasked>
  static __m512 load(const std::uint16_t* p, __mmask16 m) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(half16<kMasked>(p, m)), 16));
  }
};

template <class E, int MR, int NR, bool kMasked>
inline void float_step(const float* x, std::int64_t ldx, std::int64_t j0, __mmask16 mask,
                       const typename E::T* const* w, __m512 (&acc)[MR][NR]) {
  __m512 wv[NR];
  for (int j = 0; j < NR; ++j) wv[j] = E::template load<kMasked>(w[j] + j0, mask);
  for (int i = 0; i < MR; ++i) {
    const __m512 xv = kMasked ? _mm512_maskz_loadu_ps(mask, x + i * ldx + j0) : _mm512_loadu_ps(x + i * ldx + j0);
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
  }
}

template <class E, int MR, int NR>
void float_micro(const float* x, std::int64_t ldx, std::int64_t k, const typename E::T* const* w, float* y,
                 std::int64_t ldy) {
  __m512 acc[MR][NR];
  for (auto& row : acc)
    for (auto& a : row) a = _mm512_setzero_ps();
  std::int64_t j0 = 0;
  for (; j0 + 16 <= k; j0 += 16) float_step<E, MR, NR, false>(x, ldx, j0, 0xFFFF, w, acc);
  if (j0 < k) float_step<E, MR, NR, true>(x, ldx, j0, static_cast<__mmask16>((1u << (k - j0)) - 1), w, acc);
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) y[i * ldy + j] = _mm512_reduce_add_ps(acc[i][j]);
}

template <class E, int MR>
void float_micro_nr(int nr, const float* x, std::int64_t ldx, std::int64_t k, const typename E::T* const* w,
                    float* y, std::int64_t ldy) {
  switch (nr) {
    case 1: return float_micro<E, MR, 1>(x, ldx, k, w, y, ldy);
    case 2: return float_micro<E, MR, 2>(x, ldx, k, w, y, ldy);
    case 3: return float_micro<E, MR, 3>(x, ldx, k, w, y, ldy);
    default: return float_micro<E, MR, 4>(x, ldx, k, w, y, ldy);
  }
}

// One activation row (decode): rows one after another, so the weights stream
// linearly (several interleaved row streams read markedly slower from DRAM),
// with 4 accumulators to hide the FMA latency.
template <class E>
void float_gemv(const float* x, std::int64_t k, const WeightRows& w, float* y) {
  for (std::int64_t n = w.n0; n < w.n1; ++n) {
    const auto* wr = reinterpret_cast<const typename E::T*>(w.w + static_cast<std::size_t>(n) * w.w_stride);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    std::int64_t j = 0;
    for (; j + 64 <= k; j += 64)
      for (int u = 0; u < 4; ++u)
        acc[u] = _mm512_fmadd_ps(_mm512_loadu_ps(x + j + 16 * u), E::template load<false>(wr + j + 16 * u, 0xFFFF),
                                 acc[u]);
    for (; j + 16 <= k; j += 16)
      acc[0] = _mm512_fmadd_ps(_mm512_loadu_ps(x + j), E::template load<false>(wr + j, 0xFFFF), acc[0]);
    if (j < k) {
      const auto mask = static_cast<__mmask16>((1u << (k - j)) - 1);
      acc[1] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, x + j), E::template load<true>(wr + j, mask), acc[1]);
    }
    y[n] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
  }
}

template <class E>
void float_tile(const float* x, std::int64_t ldx, std::int64_t m, std::int64_t k, const WeightRows& w, float* y,
                std::int64_t ldy) {
  if (m == 1) return float_gemv<E>(x, k, w, y);
  const typename E::T* rows[kNR] = {};
  for (std::int64_t n = w.n0; n < w.n1; n += kNR) {
    const int nr = static_cast<int>(std::min<std::int64_t>(kNR, w.n1 - n));
    for (int j = 0; j < nr; ++j)
      rows[j] = reinterpret_cast<const typename E::T*>(w.w + static_cast<std::size_t>(n + j) * w.w_stride);
    for (std::int64_t i = 0; i < m; i += kMR) {
      const float* xi = x + i * ldx;
      float* yi = y + i * ldy + n;
      switch (std::min<std::int64_t>(kMR, m - i)) {
        case 1: float_micro_nr<E, 1>(nr, xi, ldx, k, rows, yi, ldy); break;
        case 2: float_micro_nr<E, 2>(nr, xi, ldx, k, rows, yi, ldy); break;
        case 3: float_micro_nr<E, 3>(nr, xi, ldx, k, rows, yi, ldy); break;
        default: float_micro_nr<E, 4>(nr, xi, ldx, k, rows, yi, ldy); break;
      }
    }
  }
}

// ---- packed weights (matmul_pack.hpp) -------------------------------------------------
// Lane r of every vector is weight row r of the group: a dpbusd against 4
// activation bytes broadcast to all lanes advances 16 dot products, so no
// horizontal sums and one linear weight stream.
inline __m512i bcast4(const std::int8_t* p) {
  std::int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

inline __m512 f16x16(const std::uint8_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// Activation rows i0.. (Q8_0/Q8_1, or Q8_K for the K-quants) against one
// group, nb blocks per row.
template <class Act>
struct PackedTileOf {
  const Act* x;
  std::int64_t i0, nb;
  const std::uint8_t* g;  // the group
  __mmask16 mask;         // rows of the group that exist
};
using PackedTile = PackedTileOf<ActQ8>;
using PackedKTile = PackedTileOf<ActQ8K>;

template <int MR>
void q8_0_r16_micro(const PackedTile& t, float* y, std::int64_t ldy) {
  __m512 acc[MR];
  for (auto& a : acc) a = _mm512_setzero_ps();
  for (std::int64_t b = 0; b < t.nb; ++b) {
    __m512i w[8];
    const std::uint8_t* q = t.g + q8_0_r16_qs(b);
    for (int c = 0; c < 8; ++c) w[c] = _mm512_loadu_si512(q + c * 64);
    const __m512 dw = f16x16(t.g + q8_0_r16_d(b));
    for (int i = 0; i < MR; ++i) {
      const std::int64_t row = t.i0 + i;
      const std::int8_t* xq = t.x->qs + row * t.x->k + b * kQK;
      // Weights carry +128: start from -128·Σx so the sum is Σ w·x.
      __m512i s0 = _mm512_set1_epi32(-128 * t.x->qsum[row * t.nb + b]), s1 = _mm512_setzero_si512();
      for (int c = 0; c < 8; c += 2) {
        s0 = _mm512_dpbusd_epi32(s0, w[c], bcast4(xq + 4 * c));
        s1 = _mm512_dpbusd_epi32(s1, w[c + 1], bcast4(xq + 4 * c + 4));
      }
      const __m512 dot = _mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1));
      acc[i] = _mm512_fmadd_ps(dot, _mm512_mul_ps(dw, _mm512_set1_ps(t.x->d[row * t.nb + b])), acc[i]);
    }
  }
  for (int i = 0; i < MR; ++i) _mm512_mask_storeu_ps(y + (t.i0 + i) * ldy, t.mask, acc[i]);
}

template <int MR>
void q4_1_r16_micro(const PackedTile& t, float* y, std::int64_t ldy) {
  __m512 acc[MR];
  for (auto& a : acc) a = _mm512_setzero_ps();
  const __m512i low = _mm512_set1_epi8(0x0F);
  for (std::int64_t b = 0; b < t.nb; ++b) {
    __m512i lo[4], hi[4];
    for (int c = 0; c < 4; ++c) {
      const __m512i v = _mm512_loadu_si512(t.g + q4_1_r16_qs(b) + c * 64);
      lo[c] = _mm512_and_si512(v, low);
      hi[c] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
    }
    const __m512 dw = f16x16(t.g + q4_1_r16_d(b)), mw = f16x16(t.g + q4_1_r16_d(b) + 32);
    for (int i = 0; i < MR; ++i) {
      const std::int64_t row = t.i0 + i;
      const std::int8_t* xq = t.x->qs + row * t.x->k + b * kQK;
      __m512i s0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo[0], bcast4(xq));
      __m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi[0], bcast4(xq + 16));
      for (int c = 1; c < 4; ++c) {
        s0 = _mm512_dpbusd_epi32(s0, lo[c], bcast4(xq + 4 * c));
        s1 = _mm512_dpbusd_epi32(s1, hi[c], bcast4(xq + 16 + 4 * c));
      }
      const float dx = t.x->d[row * t.nb + b];
      const __m512 dot = _mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1));
      acc[i] = _mm512_fmadd_ps(dot, _mm512_mul_ps(dw, _mm512_set1_ps(dx)), acc[i]);
      // m·d·Σq with GGML's f16-rounded d·Σq, as the reference computes it.
      acc[i] = _mm512_fmadd_ps(mw, _mm512_set1_ps(t.x->s[row * t.nb + b]), acc[i]);
    }
  }
  for (int i = 0; i < MR; ++i) _mm512_mask_storeu_ps(y + (t.i0 + i) * ldy, t.mask, acc[i]);
}

// Q5_0_R16 / Q5_1_R16: Q4_1_R16's nibbles plus the fifth bits of chunk c, one
// shift and mask of the arranged qh line each (matmul_pack.hpp); Q4_0_R16
// (kQh false): the nibbles alone, blocks paired as Q5_0_R16's.
template <bool kQh, bool kMin>
struct NibbleOffsets {
  static std::size_t qs(std::int64_t b) { return kQh ? q5_r16_qs(kMin, b) : q4_0_r16_qs(b); }
  static std::size_t d(std::int64_t b) { return kQh ? q5_r16_d(kMin, b) : q4_0_r16_d(b); }
};

template <bool kQh, bool kMin, int MR>
void nibble_r16_micro(const PackedTile& t, float* y, std::int64_t ldy) {
  static_assert(kQh || !kMin, "Q4_1_R16 has its own layout and kernel");
  using Off = NibbleOffsets<kQh, kMin>;
  __m512 acc[MR];
  for (auto& a : acc) a = _mm512_setzero_ps();
  const __m512i low = _mm512_set1_epi8(0x0F), bit4 = _mm512_set1_epi8(0x10);
  for (std::int64_t b = 0; b < t.nb; ++b) {
    __m512i lo[4], hi[4];
    const __m512i h = kQh ? _mm512_loadu_si512(t.g + q5_r16_qh(kMin, b)) : _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      const __m512i v = _mm512_loadu_si512(t.g + Off::qs(b) + c * 64);
      if constexpr (kQh) {
        lo[c] = _mm512_ternarylogic_epi32(_mm512_and_si512(v, low), _mm512_slli_epi16(h, 4 - c), bit4, 0xF8);
        hi[c] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(v, 4), low), _mm512_srli_epi16(h, c),
                                          bit4, 0xF8);
      } else {
        lo[c] = _mm512_and_si512(v, low);
        hi[c] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
      }
    }
    const __m512 dw = f16x16(t.g + Off::d(b));
    __m512 mw = _mm512_setzero_ps();
    if constexpr (kMin) mw = f16x16(t.g + Off::d(b) + 32);
    for (int i = 0; i < MR; ++i) {
      const std::int64_t row = t.i0 + i;
      const std::int8_t* xq = t.x->qs + row * t.x->k + b * kQK;
      // Q5_0's quants carry +16, Q4_0's +8: start from -16·Σx or -8·Σx.
      __m512i s0 = kMin ? _mm512_setzero_si512() : _mm512_set1_epi32((kQh ? -16 : -8) * t.x->qsum[row * t.nb + b]);
      __m512i s1 = _mm512_setzero_si512();
      for (int c = 0; c < 4; ++c) {
        s0 = _mm512_dpbusd_epi32(s0, lo[c], bcast4(xq + 4 * c));
        s1 = _mm512_dpbusd_epi32(s1, hi[c], bcast4(xq + 16 + 4 * c));
      }
      const __m512 dot = _mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1));
      acc[i] = _mm512_fmadd_ps(dot, _mm512_mul_ps(dw, _mm512_set1_ps(t.x->d[row * t.nb + b])), acc[i]);
      if constexpr (kMin) acc[i] = _mm512_fmadd_ps(mw, _mm512_set1_ps(t.x->s[row * t.nb + b]), acc[i]);
    }
  }
  for (int i = 0; i < MR; ++i) _mm512_mask_storeu_ps(y + (t.i0 + i) * ldy, t.mask, acc[i]);
}

template <template <int> class Micro, class Act = ActQ8>
void packed_tile(const Act& x, std::int64_t m, const WeightRows& w, float* y, std::int64_t ldy) {
  PackedTileOf<Act> t{&x, 0, x.k / (std::is_same_v<Act, ActQ8K> ? kQK_K : kQK), nullptr, 0};
  for (std::int64_t n = w.n0; n < w.n1; n += 16) {
    t.g = w.w + static_cast<std::size_t>(n / 16) * w.w_stride;
    const std::int64_t cnt = std::min<std::int64_t>(16, w.n1 - n);
    t.mask = static_cast<__mmask16>((1u << cnt) - 1);
    for (t.i0 = 0; t.i0 < m; t.i0 += kMR) {
      switch (std::min<std::int64_t>(kMR, m - t.i0)) {
        case 1: Micro<1>::run(t, y + n, ldy); break;
        case 2: Micro<2>::run(t, y + n, ldy); break;
        case 3: Micro<3>::run(t, y + n, ldy); break;
        default: Micro<4>::run(t, y + n, ldy); break;
      }
    }
  }
}
template <int MR>
struct Q8_0R16 {
  static void run(const PackedTile& t, float* y, std::int64_t ldy) { q8_0_r16_micro<MR>(t, y, ldy); }
};
template <int MR>
struct Q5_0R16 {
  static void run(const PackedTile& t, float* y, std::int64_t ldy) { nibble_r16_micro<true, false, MR>(t, y, ldy); }
};
template <int MR>
struct Q5_1R16 {
  static void run(const PackedTile& t, float* y, std::int64_t ldy) { nibble_r16_micro<true, true, MR>(t, y, ldy); }
};
template <int MR>
struct Q4_0R16 {
  static void run(const PackedTile& t, float* y, std::int64_t ldy) { nibble_r16_micro<false, false, MR>(t, y, ldy); }
};
template <int MR>
struct Q4_1R16 {
  static void run(const PackedTile& t, float* y, std::int64_t ldy) { q4_1_r16_micro<MR>(t, y, ldy); }
};

// Packed K-quants (Q8_K activations). A sub-block's chunks go through dpbusd
// into its own int32 sums, which vpmulld scales by the sub-block's scale (the
// sums outgrow int16, so no vpdpwssd); a super-block's total fits int32.
inline const std::int8_t* act_k(const PackedKTile& t, int i, std::int64_t b) {
  return t.x->qs + (t.i0 + i) * t.x->k + b * kQK_K;
}
inline const std::int16_t* bsums_k(const PackedKTile& t, int i, std::int64_t b) {
  return t.x->bsums + ((t.i0 + i) * t.nb + b) * 16;
}
// 16 bytes p[r] zero-extended to int32 lane r.
inline __m512i u8x16(const std::uint8_t* p) {
  return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Q4_K_R16: sub-block s (32 elements) is the low (s even) or high nibbles of
// lines (s / 2, c); −dmin·Σ_s mn[s]·Σx over s as vpdpwssd of (mn, mn) pairs
// against the two 16-element bsums of s.
template <int MR>
void q4_k_r16_micro(const PackedKTile& t, float* y, std::int64_t ldy) {
  __m512 acc[MR];
  for (auto& a : acc) a = _mm512_setzero_ps();
  const __m512i low = _mm512_set1_epi8(0x0F);
  for (std::int64_t b = 0; b < t.nb; ++b) {
    __m512i isum[MR], mins[MR];
    for (int i = 0; i < MR; ++i) isum[i] = mins[i] = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int s = 0; s < 8; ++s) {
      __m512i sub[MR];
      for (auto& v : sub) v = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int c = 0; c < 8; ++c) {
        const __m512i v = _mm512_loadu_si512(t.g + q4_k_r16_qs(b, s / 2, c));
        const __m512i w = _mm512_and_si512(s % 2 ? _mm512_srli_epi16(v, 4) : v, low);
        for (int i = 0; i < MR; ++i) sub[i] = _mm512_dpbusd_epi32(sub[i], w, bcast4(act_k(t, i, b) + 32 * s + 4 * c));
      }
      const __m512i sc = u8x16(t.g + q4_k_r16_sc(b, s));
      const __m512i mn = u8x16(t.g + q4_k_r16_mn(b, s));
      const __m512i mn2 = _mm512_or_si512(mn, _mm512_slli_epi32(mn, 16));
      for (int i = 0; i < MR; ++i) {
        isum[i] = _mm512_add_epi32(isum[i], _mm512_mullo_epi32(sub[i], sc));
        mins[i] = _mm512_dpwssd_epi32(mins[i], mn2, bcast4(reinterpret_cast<const std::int8_t*>(bsums_k(t, i, b) + 2 * s)));
      }
    }
    const __m512 dw = f16x16(t.g + q4_k_r16_d(b)), mw = f16x16(t.g + q4_k_r16_d(b) + 32);
    for (int i = 0; i < MR; ++i) {
      const __m512 dx = _mm512_set1_ps(t.x->d[(t.i0 + i) * t.nb + b]);
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[i]), _mm512_mul_ps(dw, dx), acc[i]);
      acc[i] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(mins[i]), _mm512_mul_ps(mw, dx), acc[i]);
    }
  }
  for (int i = 0; i < MR; ++i) _mm512_mask_storeu_ps(y + (t.i0 + i) * ldy, t.mask, acc[i]);
}

// Q6_K_R16 and Q3_K_R16: unsigned quants q (GGML's q + 2^kShift) with an int8
// scale per 16-element sub-block; the −2^kShift of d·sc·(q − 2^kShift) is
// −2^kShift·Σ_p (sc, sc')·(bsum, bsum'). Fmt::chunk gives chunk k (elements
// 4k..4k+3) of the 16 rows.
// Q6_K_R16 (q 0..63): the low (k < 32) or high nibble of ql line k % 32 with
// bits 2·(k / 16).. of qh line k % 16 on top.
struct Q6KChunks {
  static constexpr int kShift = 5;
  static std::size_t sc(std::int64_t b, int p) { return q6_k_r16_sc(b, p); }
  static std::size_t d(std::int64_t b) { return q6_k_r16_d(b); }
  static __m512i chunk(const std::uint8_t* g, std::int64_t b, int k) {
    const __m512i low = _mm512_set1_epi8(0x0F), top = _mm512_set1_epi8(0x30);
    const int U = k / 16;
    const __m512i l = _mm512_loadu_si512(g + q6_k_r16_ql(b, k % 32));
    const __m512i q = _mm512_loadu_si512(g + q6_k_r16_qh(b, k % 16));
    const __m512i hb = U == 0 ? _mm512_slli_epi16(q, 4) : U == 1 ? _mm512_slli_epi16(q, 2) : U == 2 ? q : _mm512_srli_epi16(q, 2);
    const __m512i lo4 = U < 2 ? _mm512_and_si512(l, low) : _mm512_and_si512(_mm512_srli_epi16(l, 4), low);
    return _mm512_ternarylogic_epi32(lo4, hb, top, 0xF8);  // lo4 | (hb & top)
  }
};
// Q3_K_R16 (q 0..7): bits 2·(k / 16) of ql line k % 16 with bit k / 8 of qh
// line k % 8 on top.
struct Q3KChunks {
  static constexpr int kShift = 2;
  static std::size_t sc(std::int64_t b, int p) { return q3_k_r16_sc(b, p); }
  static std::size_t d(std::int64_t b) { return q3_k_r16_d(b); }
  static __m512i chunk(const std::uint8_t* g, std::int64_t b, int k) {
    const __m512i two = _mm512_set1_epi8(0x03), bit2 = _mm512_set1_epi8(0x04);
    const int L = k / 16, H = k / 8;
    const __m512i l = _mm512_loadu_si512(g + q3_k_r16_ql(b, k % 16));
    const __m512i q = _mm512_loadu_si512(g + q3_k_r16_qh(b, k % 8));
    const __m512i lo2 = _mm512_and_si512(_mm512_srli_epi16(l, 2 * L), two);
    const __m512i hb = H < 2 ? _mm512_slli_epi16(q, 2 - H) : _mm512_srli_epi16(q, H - 2);
    return _mm512_ternarylogic_epi32(lo2, hb, bit2, 0xF8);  // lo2 | (hb & bit2)
  }
};

template <class Fmt, int MR>
void scaled16_r16_micro(const PackedKTile& t, float* y, std::int64_t ldy) {
  __m512 acc[MR];
  for (auto& a : acc) a = _mm512_setzero_ps();
  for (std::int64_t b = 0; b < t.nb; ++b) {
    __m512i isum[MR], off[MR];
    for (int i = 0; i < MR; ++i) isum[i] = off[i] = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int p = 0; p < 8; ++p) {
      // Lane r: int16 pair (scale of sub-block 2p, of 2p + 1) of row r.
      const __m512i scp = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.g + Fmt::sc(b, p))));
      for (int i = 0; i < MR; ++i)
        off[i] = _mm512_dpwssd_epi32(off[i], scp, bcast4(reinterpret_cast<const std::int8_t*>(bsums_k(t, i, b) + 2 * p)));
#pragma GCC unroll 2
      for (int u = 0; u < 2; ++u) {
        const int sb = 2 * p + u;  // chunks 4·sb .. 4·sb + 3
        __m512i sub[MR];
        for (auto& v : sub) v = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int v = 0; v < 4; ++v) {
          const int k = 4 * sb + v;
          const __m512i w = Fmt::chunk(t.g, b, k);
          for (int i = 0; i < MR; ++i) sub[i] = _mm512_dpbusd_epi32(sub[i], w, bcast4(act_k(t, i, b) + 4 * k));
        }
        const __m512i sc = u == 0 ? _mm512_srai_epi32(_mm512_slli_epi32(scp, 16), 16) : _mm512_srai_epi32(scp, 16);
        for (int i = 0; i < MR; ++i) isum[i] = _mm512_add_epi32(isum[i], _mm512_mullo_epi32(sub[i], sc));
      }
    }
    const __m512 dw = f16x16(t.g + Fmt::d(b));
    for (int i = 0; i < MR; ++i) {
      const __m512i total = _mm512_sub_epi32(isum[i], _mm512_slli_epi32(off[i], Fmt::kShift));
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), _mm512_mul_ps(dw, _mm512_set1_ps(t.x->d[(t.i0 + i) * t.nb + b])),
                               acc[i]);
    }
  }
  for (int i = 0; i < MR; ++i) _mm512_mask_storeu_ps(y + (t.i0 + i) * ldy, t.mask, acc[i]);
}

template <int MR>
struct Q3KR16 {
  static void run(const PackedKTile& t, float* y, std::int64_t ldy) { scaled16_r16_micro<Q3KChunks, MR>(t, y, ldy); }
};
template <int MR>
struct Q4KR16 {
  static void run(const PackedKTile& t, float* y, std::int64_t ldy) { q4_k_r16_micro<MR>(t, y, ldy); }
};
template <int MR>
struct Q6KR16 {
  static void run(const PackedKTile& t, float* y, std::int64_t ldy) { scaled16_r16_micro<Q6KChunks, MR>(t, y, ldy); }
};

}  // namespace

const MatmulKernels* matmul_kernels_avx512() {
  static const MatmulKernels k{"avx512-vnni",
                               quantize_act,
                               quant_tile<Q4_0Format>,
                               quant_tile<Q4_1Format>,
                               quant_tile<Q8_0Format>,
                               float_tile<F32Elem>,
                               float_tile<F16Elem>,
                               float_tile<BF16Elem>,
                               packed_tile<Q4_1R16>,
                               packed_tile<Q8_0R16>,
                               quant_tile<Q5_0Format>,
                               quant_tile<Q5_1Format>,
                               packed_tile<Q5_0R16>,
                               packed_tile<Q5_1R16>,
                               quantize_act_k,
                               k_tile<DType::Q2_K>,
                               k_tile<DType::Q3_K>,
                               k_tile<DType::Q4_K>,
                               k_tile<DType::Q5_K>,
                               k_tile<DType::Q6_K>,
                               packed_tile<Q4KR16, ActQ8K>,
                               packed_tile<Q6KR16, ActQ8K>,
                               packed_tile<Q4_0R16>,
                               packed_tile<Q3KR16, ActQ8K>};
  return &k;
}

}  // namespace cnai::ops
