// AVX2 kernels for the packed layouts of matmul_pack.hpp (Q4_1_R16, Q8_0_R16,
// Q5_0_R16, Q5_1_R16). A 256-bit vector holds 8 rows of a 16-row group (half h:
// bytes 32h..32h+31 of every 64-byte line), lane r = row 8h + r, so vpmaddubsw
// against 4 activation bytes broadcast to every lane advances 8 dot products:
// no horizontal sums, and each block's scaling is one FMA per 8 rows instead of
// one per row. Partial sums stay in int16 as long as they cannot overflow.
// Every row's arithmetic is the same whatever the number of rows in the batch.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

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

struct Tile {
  const ActQ8* x;
  std::int64_t i0, nb;
  const std::uint8_t* g;  // the group
  int h0;                 // first half: rows 8·h0 ..
};

inline const std::int8_t* act(const Tile& t, int i, std::int64_t b) {
  return t.x->qs + (t.i0 + i) * t.x->k + b * kQK;
}

// Q4_1_R16 (kQh false, kMin true), Q5_0_R16 (true, false), Q5_1_R16 (true, true).
// Nibble chunk c of a row holds elements 4c..4c+3 (low) and 16+4c.. (high); Q5's
// fifth bits are one shift and mask of the arranged qh line away.
template <bool kQh, bool kMin>
struct Nibbles {
  static std::size_t qs(std::int64_t b) { return kQh ? q5_r16_qs(kMin, b) : q4_1_r16_qs(b); }
  static std::size_t d(std::int64_t b) { return kQh ? q5_r16_d(kMin, b) : q4_1_r16_d(b); }

  template <int MR, int H>
  static void block(const Tile& t, std::int64_t b, __m256 (&acc)[MR][H]) {
    const __m256i low = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    for (int hh = 0; hh < H; ++hh) {
      const int h = t.h0 + hh;
      const std::uint8_t* q = t.g + qs(b) + 32 * h;
      __m256i qh = _mm256_setzero_si256();
      if constexpr (kQh) qh = load32(t.g + q5_r16_qh(kMin, b) + 32 * h);
      __m256i part[MR], isum[MR];
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
        // Q5_0's quants carry +16: subtract 16·Σx.
        if constexpr (!kMin) isum[i] = _mm256_sub_epi32(isum[i], _mm256_set1_epi32(16 * t.x->qsum[row * t.nb + b]));
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
      __m256i isum[MR];
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

// MR activation rows against H halves of a group (rows 8·h0 .. 8·(h0+H)), cnt
// rows of the group valid.
template <class F, int MR, int H>
void micro(const Tile& t, float* y, std::int64_t ldy, std::int64_t cnt) {
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

template <class F>
void packed_tile(const ActQ8& x, std::int64_t m, const WeightRows& w, float* y, std::int64_t ldy) {
  Tile t{&x, 0, x.k / kQK, nullptr, 0};
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
  static const PackedKernels k{packed_tile<Nibbles<false, true>>, packed_tile<Q8_0Packed>,
                               packed_tile<Nibbles<true, false>>, packed_tile<Nibbles<true, true>>};
  return k;
}

}  // namespace cnai::ops
