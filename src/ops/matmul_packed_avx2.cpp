// AVX2 kernels for the packed layouts of matmul_pack.hpp (Q4_0_R16, Q4_1_R16, Q8_0_R16,
// Q5_0_R16, Q5_1_R16, Q3_K_R16, Q4_K_R16, Q6_K_R16). A 256-bit vector holds 8 rows of a 16-row group (half h:
// bytes 32h..32h+31 of every 64-byte line), lane r = row 8h + r, so vpmaddubsw
// against 4 activation bytes broadcast to every lane advances 8 dot products:
// no horizontal sums, and each block's scaling is one FMA per 8 rows instead of
// one per row. Partial sums stay in int16 as long as they cannot overflow.
// Every row's arithmetic is the same whatever the number of rows in the batch.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "ops/matmul_kernels.hpp"
#include "ops/matmul_pack.hpp"
#include "ops/quant_blocks.hpp"

namespace cnai::ops {
namespace {

constexpr int kMR = 4;

inline __m256i load32(const std::uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
// 4 activation bytes in every 32-bit lane (vbroadcastss: a load, no shuffle).
inline __m256i bcast4(const std::int8_t* p) {
  float f;
  std::memcpy(&f, p, 4);
  return _mm256_castps_si256(_mm256_set1_ps(f));
}
inline __m256 f16x8(const std::uint8_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }

// Activation rows i0.. (Q8_0/Q8_1 or Q8_K) against a group, nb blocks per row.
template <class Act>
struct TileOf {
  const Act* x;
  std::int64_t i0, nb;
  const std::uint8_t* g;  // the group
  int h0;                 // first half: rows 8·h0 ..
};
using Tile = TileOf<ActQ8>;
using KTile = TileOf<ActQ8K>;

inline const std::int8_t* act(const Tile& t, int i, std::int64_t b) {
  return t.x->qs + (t.i0 + i) * t.x->k + b * kQK;
}
inline const std::int8_t* act(const KTile& t, int i, std::int64_t b) {
  return t.x->qs + (t.i0 + i) * t.x->k + b * kQK_K;
}
// Σq of sub-blocks 2p and 2p+1 (16 elements each) of super-block b, as an int16 pair in every lane.
inline __m256i bsum_pair(const KTile& t, int i, std::int64_t b, int p) {
  return bcast4(reinterpret_cast<const std::int8_t*>(t.x->bsums + ((t.i0 + i) * t.nb + b) * 16 + 2 * p));
}

// 8 bytes p[r] (rows 8h..8h+7), zero-extended into both int16 lanes of row r.
inline __m256i dup_u8(const std::uint8_t* p) {
  std::int64_t v;
  std::memcpy(&v, p, 8);
  const __m256i idx = _mm256_setr_epi8(0, -128, 0, -128, 1, -128, 1, -128, 2, -128, 2, -128, 3, -128, 3, -128, 4, -128, 4,
                                       -128, 5, -128, 5, -128, 6, -128, 6, -128, 7, -128, 7, -128);
  return _mm256_shuffle_epi8(_mm256_set1_epi64x(v), idx);
}
// Int8 pairs p[2r + u] (rows 8h..8h+7): element U of each pair, sign-extended
// into both int16 lanes of row r (byte doubled, then an arithmetic shift).
template <int U>
inline __m256i dup_s8(const std::uint8_t* p) {
  const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  constexpr char a = U, b = 2 + U, c = 4 + U, d = 6 + U, e = 8 + U, f = 10 + U, g = 12 + U, h = 14 + U;
  const __m256i idx = _mm256_setr_epi8(a, a, a, a, b, b, b, b, c, c, c, c, d, d, d, d, e, e, e, e, f, f, f, f, g, g, g, g,
                                       h, h, h, h);
  return _mm256_srai_epi16(_mm256_shuffle_epi8(v, idx), 8);
}

// Q4_1_R16 (kQh false, kMin true), Q5_0_R16 (true, false), Q5_1_R16 (true, true),
// Q4_0_R16 (false, false).
// Nibble chunk c of a row holds elements 4c..4c+3 (low) and 16+4c.. (high); Q5's
// fifth bits are one shift and mask of the arranged qh line away.
template <bool kQh, bool kMin>
struct Nibbles {
  static std::size_t qs(std::int64_t b) { return kQh ? q5_r16_qs(kMin, b) : kMin ? q4_1_r16_qs(b) : q4_0_r16_qs(b); }
  static std::size_t d(std::int64_t b) { return kQh ? q5_r16_d(kMin, b) : kMin ? q4_1_r16_d(b) : q4_0_r16_d(b); }

  template <int MR, int H>
  static void block(const Tile& t, std::int64_t b, __m256 (&acc)[MR][H]) {
    const __m256i low = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    for (int hh = 0; hh < H; ++hh) {
      const int h = t.h0 + hh;
      const std::uint8_t* q = t.g + qs(b) + 32 * h;
      __m256i qh = _mm256_setzero_si256();
      if constexpr (kQh) qh = load32(t.g + q5_r16_qh(kMin, b) + 32 * h);
      __m256i part[MR] = {}, isum[MR] = {};
      for (int hi = 0; hi < 2; ++hi) {
        for (int c = 0; c < 4; ++c) {
          const __m256i v = load32(q + 64 * c);
          __m256i w = _mm256_and_si256(hi ? _mm256_srli_epi16(v, 4) : v, low);
          if constexpr (kQh)
            w = _mm256_or_si256(w, _mm256_and_si256(hi ? _mm256_srli_epi16(qh, c) : _mm256_slli_epi16(qh, 4 - c),
                                                    _mm256_set1_epi8(0x10)));
          for (int i = 0; i < MR; ++i) {
            const __m256i p = _mm256_maddubs_epi16(w, bcast4(act(t, i, b) + 16 * hi + 4 * c));
            // 4-bit quants: all 8 chunks fit int16 (8·2·15·127); 5-bit: 4 (4·2·31·127).
            part[i] = c == 0 && (kQh || hi == 0) ? p : _mm256_add_epi16(part[i], p);
          }
        }
        if (kQh || hi == 1)
          for (int i = 0; i < MR; ++i) {
            const __m256i s = _mm256_madd_epi16(part[i], ones);
            isum[i] = kQh && hi == 1 ? _mm256_add_epi32(isum[i], s) : s;
          }
      }
      const __m256 dw = f16x8(t.g + d(b) + 16 * h);
      for (int i = 0; i < MR; ++i) {
        const std::int64_t row = t.i0 + i;
        // Q5_0's quants carry +16, Q4_0's +8: subtract 16·Σx or 8·Σx.
        if constexpr (!kMin)
          isum[i] = _mm256_sub_epi32(isum[i], _mm256_set1_epi32((kQh ? 16 : 8) * t.x->qsum[row * t.nb + b]));
        acc[i][hh] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[i]), _mm256_mul_ps(dw, _mm256_set1_ps(t.x->d[row * t.nb + b])),
                                     acc[i][hh]);
        // m·d·Σq with GGML's f16-rounded d·Σq, as the reference computes it.
        if constexpr (kMin)
          acc[i][hh] = _mm256_fmadd_ps(f16x8(t.g + d(b) + 32 + 16 * h), _mm256_set1_ps(t.x->s[row * t.nb + b]), acc[i][hh]);
      }
    }
  }
};

// Q8_0_R16 stores w + 128; AVX2 has no unsigned·signed dot that takes 255·127
// without saturating, so the sign trick: |w| · (x with w's sign).
struct Q8_0Packed {
  template <int MR, int H>
  static void block(const Tile& t, std::int64_t b, __m256 (&acc)[MR][H]) {
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80)), ones = _mm256_set1_epi16(1);
    for (int hh = 0; hh < H; ++hh) {
      const int h = t.h0 + hh;
      const std::uint8_t* q = t.g + q8_0_r16_qs(b) + 32 * h;
      __m256i isum[MR] = {};
      for (int c = 0; c < 8; ++c) {
        const __m256i w = _mm256_xor_si256(load32(q + 64 * c), flip);
        const __m256i aw = _mm256_abs_epi8(w);
        for (int i = 0; i < MR; ++i) {
          const __m256i p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(bcast4(act(t, i, b) + 4 * c), w));
          const __m256i s = _mm256_madd_epi16(p, ones);
          isum[i] = c == 0 ? s : _mm256_add_epi32(isum[i], s);
        }
      }
      const __m256 dw = f16x8(t.g + q8_0_r16_d(b) + 16 * h);
      for (int i = 0; i < MR; ++i)
        acc[i][hh] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[i]),
                                     _mm256_mul_ps(dw, _mm256_set1_ps(t.x->d[(t.i0 + i) * t.nb + b])), acc[i][hh]);
    }
  }
};

// Q4_K_R16: per sub-block s (32 elements, one 6-bit scale and min), 8 chunks of
// 4-bit quants summed in int16 (8·2·15·127 fits), one vpmaddwd with the scales.
struct Q4KPacked {
  template <int MR, int H>
  static void block(const KTile& t, std::int64_t b, __m256 (&acc)[MR][H]) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    for (int hh = 0; hh < H; ++hh) {
      const int h = t.h0 + hh;
      __m256i isum[MR] = {};
#pragma GCC unroll 8
      for (int s = 0; s < 8; ++s) {
        __m256i part[MR] = {};
#pragma GCC unroll 8
        for (int c = 0; c < 8; ++c) {
          const __m256i v = load32(t.g + q4_k_r16_qs(b, s / 2, c) + 32 * h);
          const __m256i w = _mm256_and_si256(s % 2 ? _mm256_srli_epi16(v, 4) : v, low);
          for (int i = 0; i < MR; ++i) {
            const __m256i p = _mm256_maddubs_epi16(w, bcast4(act(t, i, b) + 32 * s + 4 * c));
            part[i] = c == 0 ? p : _mm256_add_epi16(part[i], p);
          }
        }
        const __m256i sc = dup_u8(t.g + q4_k_r16_sc(b, s) + 8 * h);
        for (int i = 0; i < MR; ++i) {
          const __m256i d = _mm256_madd_epi16(part[i], sc);
          isum[i] = s == 0 ? d : _mm256_add_epi32(isum[i], d);
        }
      }
      const __m256 dw = f16x8(t.g + q4_k_r16_d(b) + 16 * h), mw = f16x8(t.g + q4_k_r16_d(b) + 32 + 16 * h);
      for (int i = 0; i < MR; ++i)
        acc[i][hh] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[i]),
                                     _mm256_mul_ps(dw, _mm256_set1_ps(t.x->d[(t.i0 + i) * t.nb + b])), acc[i][hh]);
      // − dmin·Σ_s mn[s]·Σx over sub-block s (two 16-element bsums).
      __m256i mins[MR] = {};
      for (int s = 0; s < 8; ++s) {
        const __m256i mn = dup_u8(t.g + q4_k_r16_mn(b, s) + 8 * h);
        for (int i = 0; i < MR; ++i) {
          const __m256i d = _mm256_madd_epi16(mn, bsum_pair(t, i, b, s));
          mins[i] = s == 0 ? d : _mm256_add_epi32(mins[i], d);
        }
      }
      for (int i = 0; i < MR; ++i)
        acc[i][hh] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mins[i]),
                                      _mm256_mul_ps(mw, _mm256_set1_ps(t.x->d[(t.i0 + i) * t.nb + b])), acc[i][hh]);
    }
  }
};

// Q6_K_R16: unsigned 6-bit quants q (0..63) against x, the −32 of x = d·sc·(q − 32)
// as −32·Σ sc·Σx; per 16-element sub-block, chunks summed in int16 in pairs
// (2·2·63·127 fits), then one vpmaddwd with the scales.
struct Q6KPacked {
  // Sub-blocks 4U..4U+3 (chunks k = 16U..16U+15): low nibbles of ql chunk k % 32
  // (high nibbles from U = 2 on), top bits 2U..2U+1 of qh chunk k % 16.
  template <int U, int MR>
  static void quarter(const KTile& t, std::int64_t b, int h, __m256i (&isum)[MR]) {
    const __m256i low = _mm256_set1_epi8(0x0F), top = _mm256_set1_epi8(0x30);
    for (int pp = 0; pp < 2; ++pp) {  // sub-blocks 2p and 2p+1, p = 2U + pp
      const std::uint8_t* scp = t.g + q6_k_r16_sc(b, 2 * U + pp) + 16 * h;
      const __m256i sc0 = dup_s8<0>(scp), sc1 = dup_s8<1>(scp);
      __m256i part[MR] = {};
#pragma GCC unroll 8
      for (int v = 0; v < 8; ++v) {
        const int k = 16 * U + 8 * pp + v;
        const __m256i l = load32(t.g + q6_k_r16_ql(b, k % 32) + 32 * h);
        const __m256i q = load32(t.g + q6_k_r16_qh(b, k % 16) + 32 * h);
        __m256i hb;
        if constexpr (U == 0) hb = _mm256_slli_epi16(q, 4);
        else if constexpr (U == 1) hb = _mm256_slli_epi16(q, 2);
        else if constexpr (U == 2) hb = q;
        else hb = _mm256_srli_epi16(q, 2);
        const __m256i lo4 = U < 2 ? l : _mm256_srli_epi16(l, 4);
        const __m256i w = _mm256_or_si256(_mm256_and_si256(lo4, low), _mm256_and_si256(hb, top));
        for (int i = 0; i < MR; ++i) {
          const __m256i p = _mm256_maddubs_epi16(w, bcast4(act(t, i, b) + 4 * k));
          part[i] = v % 2 == 0 ? p : _mm256_add_epi16(part[i], p);
          if (v % 2 == 1) isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(part[i], v < 4 ? sc0 : sc1));
        }
      }
    }
  }

  template <int MR, int H>
  static void block(const KTile& t, std::int64_t b, __m256 (&acc)[MR][H]) {
    for (int hh = 0; hh < H; ++hh) {
      const int h = t.h0 + hh;
      __m256i isum[MR] = {};
      quarter<0>(t, b, h, isum);
      quarter<1>(t, b, h, isum);
      quarter<2>(t, b, h, isum);
      quarter<3>(t, b, h, isum);
      __m256i off[MR] = {};
      for (int p = 0; p < 8; ++p) {
        const __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t.g + q6_k_r16_sc(b, p) + 16 * h)));
        for (int i = 0; i < MR; ++i) off[i] = _mm256_add_epi32(off[i], _mm256_madd_epi16(sc, bsum_pair(t, i, b, p)));
      }
      const __m256 dw = f16x8(t.g + q6_k_r16_d(b) + 16 * h);
      for (int i = 0; i < MR; ++i) {
        const __m256i total = _mm256_sub_epi32(isum[i], _mm256_slli_epi32(off[i], 5));
        acc[i][hh] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total),
                                     _mm256_mul_ps(dw, _mm256_set1_ps(t.x->d[(t.i0 + i) * t.nb + b])), acc[i][hh]);
      }
    }
  }
};

// Q3_K_R16: unsigned 3-bit quants q (0..7) against x, the −4 of x = d·sc·(q − 4)
// as −4·Σ sc·Σx; chunk k is bits 2·(k / 16) of ql line k % 16 with bit k / 8 of
// qh line k % 8 on top. A sub-block's 4 chunks sum in int16 (4·2·7·127 fits),
// then one vpmaddwd with its scale.
struct Q3KPacked {
  template <int MR, int H>
  static void block(const KTile& t, std::int64_t b, __m256 (&acc)[MR][H]) {
    const __m256i two = _mm256_set1_epi8(0x03), bit2 = _mm256_set1_epi8(0x04);
    for (int hh = 0; hh < H; ++hh) {
      const int h = t.h0 + hh;
      __m256i isum[MR] = {}, off[MR] = {};
#pragma GCC unroll 8
      for (int p = 0; p < 8; ++p) {
        const std::uint8_t* scp = t.g + q3_k_r16_sc(b, p) + 16 * h;
        const __m256i sc0 = dup_s8<0>(scp), sc1 = dup_s8<1>(scp);
        const __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scp)));
        for (int i = 0; i < MR; ++i) off[i] = _mm256_add_epi32(off[i], _mm256_madd_epi16(sc, bsum_pair(t, i, b, p)));
        __m256i part[MR] = {};
#pragma GCC unroll 8
        for (int v = 0; v < 8; ++v) {
          const int k = 8 * p + v, L = k / 16, Hb = k / 8;
          const __m256i l = load32(t.g + q3_k_r16_ql(b, k % 16) + 32 * h);
          const __m256i q = load32(t.g + q3_k_r16_qh(b, k % 8) + 32 * h);
          const __m256i hb = Hb < 2 ? _mm256_slli_epi16(q, 2 - Hb) : _mm256_srli_epi16(q, Hb - 2);
          const __m256i w = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l, 2 * L), two), _mm256_and_si256(hb, bit2));
          for (int i = 0; i < MR; ++i) {
            const __m256i pr = _mm256_maddubs_epi16(w, bcast4(act(t, i, b) + 4 * k));
            part[i] = v % 4 == 0 ? pr : _mm256_add_epi16(part[i], pr);
            if (v % 4 == 3) isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(part[i], v < 4 ? sc0 : sc1));
          }
        }
      }
      const __m256 dw = f16x8(t.g + q3_k_r16_d(b) + 16 * h);
      for (int i = 0; i < MR; ++i) {
        const __m256i total = _mm256_sub_epi32(isum[i], _mm256_slli_epi32(off[i], 2));
        acc[i][hh] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total),
                                     _mm256_mul_ps(dw, _mm256_set1_ps(t.x->d[(t.i0 + i) * t.nb + b])), acc[i][hh]);
      }
    }
  }
};

// MR activation rows against H halves of a group (rows 8·h0 .. 8·(h0+H)), cnt
// rows of the group valid.
template <class F, int MR, int H, class T>
void micro(const T& t, float* y, std::int64_t ldy, std::int64_t cnt) {
  __m256 acc[MR][H];
  for (auto& row : acc)
    for (auto& a : row) a = _mm256_setzero_ps();
  for (std::int64_t b = 0; b < t.nb; ++b) F::template block<MR, H>(t, b, acc);
  for (int i = 0; i < MR; ++i)
    for (int hh = 0; hh < H; ++hh) {
      const std::int64_t r0 = 8 * (t.h0 + hh), n = std::min<std::int64_t>(8, cnt - r0);
      float* dst = y + (t.i0 + i) * ldy + r0;
      if (n == 8) {
        _mm256_storeu_ps(dst, acc[i][hh]);
      } else {
        alignas(32) float tmp[8];
        _mm256_store_ps(tmp, acc[i][hh]);
        std::copy(tmp, tmp + n, dst);
      }
    }
}

template <class F, class Act>
void packed_tile(const Act& x, std::int64_t m, const WeightRows& w, float* y, std::int64_t ldy) {
  TileOf<Act> t{&x, 0, x.k / (std::is_same_v<Act, ActQ8K> ? kQK_K : kQK), nullptr, 0};
  for (std::int64_t n = w.n0; n < w.n1; n += kPackRows) {
    t.g = w.w + static_cast<std::size_t>(n / kPackRows) * w.w_stride;
    const std::int64_t cnt = std::min<std::int64_t>(kPackRows, w.n1 - n);
    if (m == 1 && cnt > 8) {  // decode: both halves in one pass, one linear weight stream
      t.i0 = 0;
      t.h0 = 0;
      micro<F, 1, 2>(t, y + n, ldy, cnt);
      continue;
    }
    for (t.h0 = 0; 8 * t.h0 < cnt; ++t.h0)
      for (t.i0 = 0; t.i0 < m; t.i0 += kMR) {
        switch (std::min<std::int64_t>(kMR, m - t.i0)) {
          case 1: micro<F, 1, 1>(t, y + n, ldy, cnt); break;
          case 2: micro<F, 2, 1>(t, y + n, ldy, cnt); break;
          case 3: micro<F, 3, 1>(t, y + n, ldy, cnt); break;
          default: micro<F, 4, 1>(t, y + n, ldy, cnt); break;
        }
      }
  }
}

}  // namespace

const PackedKernels& packed_kernels_avx2() {
  static const PackedKernels k{packed_tile<Nibbles<false, true>, ActQ8>, packed_tile<Q8_0Packed, ActQ8>,
                               packed_tile<Nibbles<true, false>, ActQ8>, packed_tile<Nibbles<true, true>, ActQ8>,
                               packed_tile<Q4KPacked, ActQ8K>,           packed_tile<Q6KPacked, ActQ8K>,
                               packed_tile<Nibbles<false, false>, ActQ8>, packed_tile<Q3KPacked, ActQ8K>};
  return k;
}

}  // namespace cnai::ops
