// AVX2 + FMA + F16C matmul kernels: maddubs integer dots (one 32-element block
// per register), register-blocked 4 activation rows x 2 weight rows.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/kquant_simd.hpp"
#include "ops/matmul_kernels.hpp"
#include "ops/quant_blocks.hpp"

namespace cnai::ops {
namespace {

constexpr int kMR = 4;
constexpr int kNR = 2;

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
float f16(const std::uint8_t* p) {
  std::uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}
float f16_round(float v) { return _cvtsh_ss(_cvtss_sh(v, _MM_FROUND_TO_NEAREST_INT)); }

void quantize_act(const float* x, std::int64_t m, std::int64_t ldx, const ActQ8& out) {
  const std::int64_t nb = out.k / kQK;
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (std::int64_t i = 0; i < m; ++i) {
    const float* xr = x + i * ldx;
    std::int8_t* q = out.qs + i * out.k;
    for (std::int64_t b = 0; b < nb; ++b, xr += kQK, q += kQK) {
      __m256 v[4];
      __m256 amax = _mm256_setzero_ps();
      for (int r = 0; r < 4; ++r) {
        v[r] = _mm256_loadu_ps(xr + 8 * r);
        amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[r]));
      }
      __m128 mx = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
      mx = _mm_max_ps(mx, _mm_movehl_ps(mx, mx));
      mx = _mm_max_ss(mx, _mm_movehdup_ps(mx));
      const float d = _mm_cvtss_f32(mx) / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
      __m256i qi[4];
      for (int r = 0; r < 4; ++r) qi[r] = _mm256_cvtps_epi32(_mm256_mul_ps(v[r], _mm256_set1_ps(id)));
      const __m256i sum32 = _mm256_add_epi32(_mm256_add_epi32(qi[0], qi[1]), _mm256_add_epi32(qi[2], qi[3]));
      // packs interleave 128-bit lanes; the final permute restores element order.
      const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(qi[0], qi[1]), _mm256_packs_epi32(qi[2], qi[3]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q),
                          _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
      __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum32), _mm256_extracti128_si256(sum32, 1));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
      out.d[i * nb + b] = f16_round(d);
      out.s[i * nb + b] = f16_round(static_cast<float>(_mm_cvtsi128_si32(s4)) * d);
    }
  }
}

// GGML's quantize_row_q8_K (as the scalar reference, bit for bit): the element of
// largest magnitude maps to -127; bsums from the stored bytes.
void quantize_act_k(const float* x, std::int64_t m, std::int64_t ldx, const ActQ8K& out) {
  const std::int64_t nb = out.k / kQK_K;
  const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t b = 0; b < nb; ++b) {
      const float* xb = x + i * ldx + b * kQK_K;
      __m256 hi = _mm256_loadu_ps(xb), lo = hi;
      for (int c = 1; c < 32; ++c) {
        const __m256 v = _mm256_loadu_ps(xb + 8 * c);
        hi = _mm256_max_ps(hi, v);
        lo = _mm256_min_ps(lo, v);
      }
      __m128 h = _mm_max_ps(_mm256_castps256_ps128(hi), _mm256_extractf128_ps(hi, 1));
      h = _mm_max_ps(h, _mm_movehl_ps(h, h));
      h = _mm_max_ss(h, _mm_movehdup_ps(h));
      __m128 l = _mm_min_ps(_mm256_castps256_ps128(lo), _mm256_extractf128_ps(lo, 1));
      l = _mm_min_ps(l, _mm_movehl_ps(l, l));
      l = _mm_min_ss(l, _mm_movehdup_ps(l));
      const float vmax = _mm_cvtss_f32(h), vmin = _mm_cvtss_f32(l);
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
      const __m256 vs = _mm256_set1_ps(iscale);
      const __m256i cap = _mm256_set1_epi32(127);
      __m256i part[8];
      for (int c = 0; c < 8; ++c) {
        __m256i qi[4];
        for (int r = 0; r < 4; ++r)
          qi[r] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + 32 * c + 8 * r), vs)), cap);
        const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(qi[0], qi[1]), _mm256_packs_epi32(qi[2], qi[3]));
        const __m256i v = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 32 * c), v);
        part[c] = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, v), ones16);  // sub-block 2c | 2c+1, 4 lanes each
      }
      // hadd twice: g0 = {s0 s2 s4 s6 | s1 s3 s5 s7}, g1 the same for s8..s15.
      const __m256i g0 = _mm256_hadd_epi32(_mm256_hadd_epi32(part[0], part[1]), _mm256_hadd_epi32(part[2], part[3]));
      const __m256i g1 = _mm256_hadd_epi32(_mm256_hadd_epi32(part[4], part[5]), _mm256_hadd_epi32(part[6], part[7]));
      alignas(32) std::int32_t t[16];
      _mm256_store_si256(reinterpret_cast<__m256i*>(t), g0);
      _mm256_store_si256(reinterpret_cast<__m256i*>(t + 8), g1);
      for (int j = 0; j < 4; ++j) {
        bs[2 * j] = static_cast<std::int16_t>(t[j]);
        bs[2 * j + 1] = static_cast<std::int16_t>(t[4 + j]);
        bs[8 + 2 * j] = static_cast<std::int16_t>(t[8 + j]);
        bs[9 + 2 * j] = static_cast<std::int16_t>(t[12 + j]);
      }
      out.d[i * nb + b] = 1.0f / iscale;
    }
}

// Σ of adjacent u8·s8 products as 8 int32 lanes.
__m256i dot_u8s8(__m256i u, __m256i s) { return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)); }

__m256i unpack_nibbles(const std::uint8_t* q) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0F));
}

// Each format: block dot as floats (per 8 lanes) given activation block x.
struct Q4_0Format {
  static constexpr std::size_t kBytes = sizeof(BlockQ4_0);
  static __m256 dot(const std::uint8_t* b, __m256i x, __m256i sum_x8) {
    const __m256i isum = _mm256_sub_epi32(dot_u8s8(unpack_nibbles(b + 2), x), sum_x8);
    return _mm256_mul_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(f16(b)));
  }
  static __m256i act_sum(__m256i x) { return dot_u8s8(_mm256_set1_epi8(8), x); }
};
struct Q4_1Format {
  static constexpr std::size_t kBytes = sizeof(BlockQ4_1);
  static __m256 dot(const std::uint8_t* b, __m256i x, __m256i sum_x) {
    const __m256 d = _mm256_cvtepi32_ps(dot_u8s8(unpack_nibbles(b + 4), x));
    return _mm256_fmadd_ps(_mm256_set1_ps(f16(b + 2)), _mm256_cvtepi32_ps(sum_x), _mm256_mul_ps(d, _mm256_set1_ps(f16(b))));
  }
  static __m256i act_sum(__m256i x) { return dot_u8s8(_mm256_set1_epi8(1), x); }
};
struct Q8_0Format {
  static constexpr std::size_t kBytes = sizeof(BlockQ8_0);
  static __m256 dot(const std::uint8_t* b, __m256i x, __m256i) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2));
    const __m256i isum = dot_u8s8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));  // |w| · (x·sign w)
    return _mm256_mul_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(f16(b)));
  }
  static __m256i act_sum(__m256i) { return _mm256_setzero_si256(); }
};

// 32 bits -> 32 bytes of 0x10 where the bit is set (Q5's fifth bit).
__m256i high_bits(const std::uint8_t* qh) {
  std::uint32_t v;
  std::memcpy(&v, qh, 4);
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(v)),
                                             _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                                               0x0101010101010101, 0x0000000000000000));
  const __m256i bit = _mm256_or_si256(spread, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  return _mm256_and_si256(_mm256_cmpeq_epi8(bit, _mm256_set1_epi64x(-1)), _mm256_set1_epi8(0x10));
}
struct Q5_0Format {
  static constexpr std::size_t kBytes = sizeof(BlockQ5_0);
  static __m256 dot(const std::uint8_t* b, __m256i x, __m256i sum_x16) {
    const __m256i q = _mm256_or_si256(unpack_nibbles(b + 6), high_bits(b + 2));
    const __m256i isum = _mm256_sub_epi32(dot_u8s8(q, x), sum_x16);
    return _mm256_mul_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(f16(b)));
  }
  static __m256i act_sum(__m256i x) { return dot_u8s8(_mm256_set1_epi8(16), x); }
};
struct Q5_1Format {
  static constexpr std::size_t kBytes = sizeof(BlockQ5_1);
  static __m256 dot(const std::uint8_t* b, __m256i x, __m256i sum_x) {
    const __m256i q = _mm256_or_si256(unpack_nibbles(b + 8), high_bits(b + 4));
    const __m256 d = _mm256_cvtepi32_ps(dot_u8s8(q, x));
    return _mm256_fmadd_ps(_mm256_set1_ps(f16(b + 2)), _mm256_cvtepi32_ps(sum_x), _mm256_mul_ps(d, _mm256_set1_ps(f16(b))));
  }
  static __m256i act_sum(__m256i x) { return dot_u8s8(_mm256_set1_epi8(1), x); }
};

template <class F, int MR, int NR>
void quant_micro(const ActQ8& x, std::int64_t i0, const std::uint8_t* const* w, float* y, std::int64_t ldy) {
  const std::int64_t nb = x.k / kQK;
  __m256 acc[MR][NR];
  for (auto& row : acc)
    for (auto& a : row) a = _mm256_setzero_ps();
  for (std::int64_t b = 0; b < nb; ++b) {
    for (int i = 0; i < MR; ++i) {
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs + (i0 + i) * x.k + b * kQK));
      const __m256 dx = _mm256_set1_ps(x.d[(i0 + i) * nb + b]);
      const __m256i sx = F::act_sum(xv);
      for (int j = 0; j < NR; ++j)
        acc[i][j] = _mm256_fmadd_ps(F::dot(w[j] + static_cast<std::size_t>(b) * F::kBytes, xv, sx), dx, acc[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) y[(i0 + i) * ldy + j] = hsum(acc[i][j]);
}

template <class F>
void quant_tile(const ActQ8& x, std::int64_t m, const WeightRows& w, float* y, std::int64_t ldy) {
  const std::uint8_t* rows[kNR];
  for (std::int64_t n = w.n0; n < w.n1; n += kNR) {
    const int nr = static_cast<int>(std::min<std::int64_t>(kNR, w.n1 - n));
    for (int j = 0; j < nr; ++j) rows[j] = w.w + static_cast<std::size_t>(n + j) * w.w_stride;
    for (std::int64_t i = 0; i < m; i += kMR) {
      const bool full_m = m - i >= kMR;
      if (nr == kNR && full_m) quant_micro<F, kMR, kNR>(x, i, rows, y + n, ldy);
      else if (full_m) quant_micro<F, kMR, 1>(x, i, rows, y + n, ldy);
      else
        for (std::int64_t r = i; r < m; ++r)
          nr == kNR ? quant_micro<F, 1, kNR>(x, r, rows, y + n, ldy) : quant_micro<F, 1, 1>(x, r, rows, y + n, ldy);
    }
  }
}

// ---- K-quants (Q8_K activations) ----------------------------------------------------
// Scales of sub-blocks 2c and 2c+1 in int16 lanes 0..7 and 8..15.
inline __m256i scale_pair(__m256i sc, int c) {
  const __m256i half = c < 4 ? _mm256_permute2x128_si256(sc, sc, 0x00) : _mm256_permute2x128_si256(sc, sc, 0x11);
  const char lo = static_cast<char>(4 * (c % 4)), hi = static_cast<char>(lo + 2);
  const __m256i idx = _mm256_setr_epi8(lo, lo + 1, lo, lo + 1, lo, lo + 1, lo, lo + 1, lo, lo + 1, lo, lo + 1, lo,
                                       lo + 1, lo, lo + 1, hi, hi + 1, hi, hi + 1, hi, hi + 1, hi, hi + 1, hi, hi + 1,
                                       hi, hi + 1, hi, hi + 1, hi, hi + 1);
  return _mm256_shuffle_epi8(half, idx);
}

// Activation rows [i0, i0+MR) against one weight row, a super-block at a time:
// the block is unpacked once and dotted with every row.
template <DType T, int MR>
void k_micro(const ActQ8K& x, std::int64_t i0, const std::uint8_t* w, float* y, std::int64_t ldy) {
  constexpr std::size_t kBytes = T == DType::Q2_K ? 84 : T == DType::Q3_K ? 110 : T == DType::Q4_K ? 144
                                 : T == DType::Q5_K ? 176 : 210;
  const std::int64_t nb = x.k / kQK_K;
  __m256 acc[MR];
  for (auto& a : acc) a = _mm256_setzero_ps();
  for (std::int64_t b = 0; b < nb; ++b) {
    KRegs r;
    load_k<T>(w + static_cast<std::size_t>(b) * kBytes, r);
    __m256i sp[8];
    for (int c = 0; c < 8; ++c) sp[c] = scale_pair(r.sc, c);
    for (int i = 0; i < MR; ++i) {
      const std::int64_t row = i0 + i;
      const std::int8_t* xq = x.qs + row * x.k + b * kQK_K;
      __m256i isum = _mm256_setzero_si256();
      for (int c = 0; c < 8; ++c) {
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * c));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(r.q[c], xv), sp[c]));
      }
      const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.bsums + (row * nb + b) * 16));
      const __m256i mins = _mm256_madd_epi16(r.mn, bs);
      const float dx = x.d[row * nb + b];
      acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(dx * r.d), acc[i]);
      acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_set1_ps(-dx * r.dm), acc[i]);
    }
  }
  for (int i = 0; i < MR; ++i) y[(i0 + i) * ldy] = hsum(acc[i]);
}

template <DType T>
void k_tile(const ActQ8K& x, std::int64_t m, const WeightRows& w, float* y, std::int64_t ldy) {
  for (std::int64_t n = w.n0; n < w.n1; ++n) {
    const std::uint8_t* wr = w.w + static_cast<std::size_t>(n) * w.w_stride;
    std::int64_t i = 0;
    for (; i + kMR <= m; i += kMR) k_micro<T, kMR>(x, i, wr, y + n, ldy);
    for (; i < m; ++i) k_micro<T, 1>(x, i, wr, y + n, ldy);
  }
}

// ---- float weights -------------------------------------------------------------------
struct F32Elem {
  using T = float;
  static __m256 load(const float* p) { return _mm256_loadu_ps(p); }
  static float one(const float* p) { return *p; }
};
struct F16Elem {
  using T = std::uint16_t;
  static __m256 load(const std::uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static float one(const std::uint16_t* p) { return _cvtsh_ss(*p); }
};
struct BF16Elem {
  using T = std::uint16_t;
  static __m256 load(const std::uint16_t* p) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static float one(const std::uint16_t* p) {
    const std::uint32_t u = static_cast<std::uint32_t>(*p) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
};

template <class E, int MR, int NR>
void float_micro(const float* x, std::int64_t ldx, std::int64_t k, const typename E::T* const* w, float* y,
                 std::int64_t ldy) {
  __m256 acc[MR][NR];
  for (auto& row : acc)
    for (auto& a : row) a = _mm256_setzero_ps();
  std::int64_t j0 = 0;
  for (; j0 + 8 <= k; j0 += 8) {
    __m256 wv[NR];
    for (int j = 0; j < NR; ++j) wv[j] = E::load(w[j] + j0);
    for (int i = 0; i < MR; ++i) {
      const __m256 xv = _mm256_loadu_ps(x + i * ldx + j0);
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm256_fmadd_ps(xv, wv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) {
      float v = hsum(acc[i][j]);
      for (std::int64_t t = j0; t < k; ++t) v += x[i * ldx + t] * E::one(w[j] + t);
      y[i * ldy + j] = v;
    }
}

template <class E>
void float_tile(const float* x, std::int64_t ldx, std::int64_t m, std::int64_t k, const WeightRows& w, float* y,
                std::int64_t ldy) {
  const typename E::T* rows[kNR] = {};
  for (std::int64_t n = w.n0; n < w.n1; n += kNR) {
    const int nr = static_cast<int>(std::min<std::int64_t>(kNR, w.n1 - n));
    for (int j = 0; j < nr; ++j)
      rows[j] = reinterpret_cast<const typename E::T*>(w.w + static_cast<std::size_t>(n + j) * w.w_stride);
    for (std::int64_t i = 0; i < m; i += kMR) {
      const bool full_m = m - i >= kMR;
      const float* xi = x + i * ldx;
      float* yi = y + i * ldy + n;
      if (nr == kNR && full_m) float_micro<E, kMR, kNR>(xi, ldx, k, rows, yi, ldy);
      else if (full_m) float_micro<E, kMR, 1>(xi, ldx, k, rows, yi, ldy);
      else
        for (std::int64_t r = i; r < m; ++r) {
          const float* xr = x + r * ldx;
          float* yr = y + r * ldy + n;
          nr == kNR ? float_micro<E, 1, kNR>(xr, ldx, k, rows, yr, ldy) : float_micro<E, 1, 1>(xr, ldx, k, rows, yr, ldy);
        }
    }
  }
}

}  // namespace

const MatmulKernels* matmul_kernels_avx2() {
  static const MatmulKernels k{"avx2",
                               quantize_act,
                               quant_tile<Q4_0Format>,
                               quant_tile<Q4_1Format>,
                               quant_tile<Q8_0Format>,
                               float_tile<F32Elem>,
                               float_tile<F16Elem>,
                               float_tile<BF16Elem>,
                               packed_kernels_avx2().q4_1_r16,
                               packed_kernels_avx2().q8_0_r16,
                               quant_tile<Q5_0Format>,
                               quant_tile<Q5_1Format>,
                               packed_kernels_avx2().q5_0_r16,
                               packed_kernels_avx2().q5_1_r16,
                               quantize_act_k,
                               k_tile<DType::Q2_K>,
                               k_tile<DType::Q3_K>,
                               k_tile<DType::Q4_K>,
                               k_tile<DType::Q5_K>,
                               k_tile<DType::Q6_K>,
                               packed_kernels_avx2().q4_k_r16,
                               packed_kernels_avx2().q6_k_r16,
                               packed_kernels_avx2().q4_0_r16,
                               packed_kernels_avx2().q3_k_r16};
  return &k;
}

}  // namespace cnai::ops
