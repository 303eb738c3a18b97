// K-quant super-blocks into the common form of kquant_unpack.hpp, in AVX2
// registers: eight 32-byte vectors of unsigned quants in element order, and
// the 16 per-sub-block scales and offsets as int16 lanes. Included only by the
// AVX2 and AVX-512 matmul files (both compiled with AVX2); internal linkage.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "cnai/tensor/dtype.hpp"
#include "ops/quant_blocks.hpp"

namespace cnai::ops {
namespace {

struct KRegs {
  __m256i q[8];   // q[c]: elements 32c .. 32c+31
  __m256i sc;     // int16 sc[s], s = 0..15
  __m256i mn;     // int16 mn[s]
  float d, dm;
};

inline float f16_at(const std::uint8_t* p) {
  std::uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}
inline __m256i load32(const std::uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline __m256i bits_of(__m256i v, int shift, int mask) {
  return _mm256_and_si256(_mm256_srli_epi16(v, shift), _mm256_set1_epi8(static_cast<char>(mask)));
}

// Q4_K/Q5_K's 12 bytes of 6-bit scales and mins (GGML's kmask trick):
// the 8 scales in the low 8 bytes, the 8 mins in the high 8, each duplicated
// to the two 16-element sub-blocks it covers.
inline void scales_k4(const std::uint8_t* p, __m256i& sc, __m256i& mn) {
  std::uint32_t u[4];
  std::memcpy(u, p, 12);
  u[3] = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
  const std::uint32_t m01 = u[1] & 0x3f3f3f3fu;
  u[1] = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
  u[2] = m01;
  u[0] &= 0x3f3f3f3fu;
  // From registers: a 16-byte load of the four 4-byte stores would miss store forwarding.
  const __m128i v = _mm_set_epi32(static_cast<int>(u[3]), static_cast<int>(u[2]), static_cast<int>(u[1]),
                                  static_cast<int>(u[0]));
  const __m128i dup = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  sc = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(v, dup));
  mn = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(_mm_srli_si128(v, 8), dup));
}

template <DType T>
inline void load_k(const std::uint8_t* blk, KRegs& r);

template <>
inline void load_k<DType::Q4_K>(const std::uint8_t* blk, KRegs& r) {
  for (int j = 0; j < 4; ++j) {
    const __m256i v = load32(blk + 16 + 32 * j);
    r.q[2 * j] = bits_of(v, 0, 0x0F);
    r.q[2 * j + 1] = bits_of(v, 4, 0x0F);
  }
  scales_k4(blk + 4, r.sc, r.mn);
  r.d = f16_at(blk);
  r.dm = f16_at(blk + 2);
}

template <>
inline void load_k<DType::Q5_K>(const std::uint8_t* blk, KRegs& r) {
  const __m256i qh = load32(blk + 16);
  for (int j = 0; j < 4; ++j) {
    const __m256i v = load32(blk + 48 + 32 * j);
    r.q[2 * j] = _mm256_or_si256(bits_of(v, 0, 0x0F), _mm256_slli_epi16(bits_of(qh, 2 * j, 1), 4));
    r.q[2 * j + 1] = _mm256_or_si256(bits_of(v, 4, 0x0F), _mm256_slli_epi16(bits_of(qh, 2 * j + 1, 1), 4));
  }
  scales_k4(blk + 4, r.sc, r.mn);
  r.d = f16_at(blk);
  r.dm = f16_at(blk + 2);
}

template <>
inline void load_k<DType::Q6_K>(const std::uint8_t* blk, KRegs& r) {
  for (int h = 0; h < 2; ++h) {
    const __m256i l0 = load32(blk + 64 * h), l1 = load32(blk + 64 * h + 32), qh = load32(blk + 128 + 32 * h);
    r.q[4 * h + 0] = _mm256_or_si256(bits_of(l0, 0, 0x0F), _mm256_slli_epi16(bits_of(qh, 0, 3), 4));
    r.q[4 * h + 1] = _mm256_or_si256(bits_of(l1, 0, 0x0F), _mm256_slli_epi16(bits_of(qh, 2, 3), 4));
    r.q[4 * h + 2] = _mm256_or_si256(bits_of(l0, 4, 0x0F), _mm256_slli_epi16(bits_of(qh, 4, 3), 4));
    r.q[4 * h + 3] = _mm256_or_si256(bits_of(l1, 4, 0x0F), _mm256_slli_epi16(bits_of(qh, 6, 3), 4));
  }
  r.sc = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192)));
  r.mn = _mm256_slli_epi16(r.sc, 5);  // (q − 32)·sc
  r.d = r.dm = f16_at(blk + 208);
}

template <>
inline void load_k<DType::Q3_K>(const std::uint8_t* blk, KRegs& r) {
  const __m256i hm = load32(blk);
  for (int h = 0; h < 2; ++h) {
    const __m256i v = load32(blk + 32 + 32 * h);
    for (int j = 0; j < 4; ++j)
      r.q[4 * h + j] = _mm256_or_si256(bits_of(v, 2 * j, 3), _mm256_slli_epi16(bits_of(hm, 4 * h + j, 1), 2));
  }
  // 16 six-bit scales: low nibbles from bytes 0..7, high 2 bits from bytes 8..11.
  std::uint32_t a[4];
  std::memcpy(a, blk + 96, 12);
  const std::uint32_t t = a[2];
  a[2] = ((a[0] >> 4) & 0x0f0f0f0fu) | (((t >> 4) & 0x03030303u) << 4);
  a[3] = ((a[1] >> 4) & 0x0f0f0f0fu) | (((t >> 6) & 0x03030303u) << 4);
  a[0] = (a[0] & 0x0f0f0f0fu) | ((t & 0x03030303u) << 4);
  a[1] = (a[1] & 0x0f0f0f0fu) | (((t >> 2) & 0x03030303u) << 4);
  const __m128i s8 = _mm_set_epi32(static_cast<int>(a[3]), static_cast<int>(a[2]), static_cast<int>(a[1]),
                                   static_cast<int>(a[0]));
  r.sc = _mm256_sub_epi16(_mm256_cvtepu8_epi16(s8), _mm256_set1_epi16(32));
  r.mn = _mm256_slli_epi16(r.sc, 2);  // (q − 4)·sc
  r.d = r.dm = f16_at(blk + 108);
}

template <>
inline void load_k<DType::Q2_K>(const std::uint8_t* blk, KRegs& r) {
  for (int h = 0; h < 2; ++h) {
    const __m256i v = load32(blk + 16 + 32 * h);
    for (int j = 0; j < 4; ++j) r.q[4 * h + j] = bits_of(v, 2 * j, 3);
  }
  const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk));
  r.sc = _mm256_cvtepu8_epi16(_mm_and_si128(s, _mm_set1_epi8(0x0F)));
  r.mn = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s, 4), _mm_set1_epi8(0x0F)));
  r.d = f16_at(blk + 80);
  r.dm = f16_at(blk + 82);
}

}  // namespace
}  // namespace cnai::ops
