// Packed weight layouts (private to src/ops): Q4_0_R16, Q4_1_R16, Q8_0_R16, Q5_0_R16 and
// Q5_1_R16 hold the blocks of Q4_0/Q4_1/Q8_0/Q5_0/Q5_1 with 16 rows interleaved, so a single-row GEMV streams
// one linear, 64-byte-aligned run and each vpdpbusd serves 16 rows at once.
//
// Group g (rows 16g..16g+15, rows past N zero), nb = K / 32 blocks; block b's
// bytes, in the order the kernels read them, so a group is one linear run:
//   Q8_0_R16: blocks in pairs {d[b], d[b+1], qs[b], qs[b+1]} (1088 bytes, 17 lines)
//             qs[8][16][4]  byte = w.qs[4c + j] ^ 0x80 (unsigned w + 128)
//             d[16]         f16 scales (odd nb: the last pair's second block is zero)
//   Q4_1_R16: per block {qs[4][16][4], d[16], m[16]} (320 bytes, 5 lines)
//             qs byte = w.qs[4c + j] (low nibble: element 4c+j, high: 16+4c+j)
//   Q4_0_R16: blocks in pairs {d[b], d[b+1], qs[b], qs[b+1]} (576 bytes, 9 lines), qs as Q4_1_R16
//   Q5_1_R16: per block {qs[4][16][4], qh[16][4], d[16], m[16]} (384 bytes)
//   Q5_0_R16: the same less m, blocks in pairs (see q5_r16_d)
//             qs as Q4_1_R16; qh byte j of row r: bit c = fifth bit of element 4c+j,
//             bit 4+c = of element 16+4c+j, so chunk c's bits are one shift and mask away
// [c][r][j]: chunk c of row r, so a 64-byte line holds 4 bytes of each row.
//
// The K-quants, per super-block b (256 elements, 4-element chunks k = e / 4), with
// the scales unpacked so no kernel decodes them:
//   Q4_K_R16 (2368 bytes, 37 lines): qs[4][8][16][4] byte [j][c][r][t] = row r's
//             qs[32j + 4c + t] (low nibble: element 64j+4c+t, high: 64j+32+4c+t),
//             sc[8][16], mn[8][16] (6-bit, u8), d[16], dmin[16] (f16)
//   Q3_K_R16 (1856 bytes, 29 lines): with q[e] the 3-bit quant (0..7, GGML's q + 4),
//             ql[16][16][4] byte [k][r][t] = Σ_u (q[64u+4k+t] & 3) << 2u,
//             qh[8][16][4] byte [k][r][t] = Σ_u (q[32u+4k+t] >> 2) << u,
//             sc[8][16][2] int8 [p][r][u] = scale of sub-block 2p+u (−32..31), d[16] (f16), 32 zero bytes
//   Q6_K_R16 (3392 bytes, 53 lines): with q[e] the 6-bit quant (0..63) of element e,
//             ql[32][16][4] byte [k][r][t] = q[4k+t] & 15 | (q[128+4k+t] & 15) << 4,
//             qh[16][16][4] byte [k][r][t] = Σ_u (q[64u+4k+t] >> 4) << 2u,
//             sc[8][16][2] int8 [p][r][u] = scale of sub-block 2p+u, d[16] (f16), 32 zero bytes
#pragma once

#include <cstddef>
#include <cstdint>

#include "cnai/tensor/dtype.hpp"

namespace cnai::ops {

inline constexpr std::int64_t kPackRows = 16;

/// The packed K-quants (Q8_K activations).
inline bool is_packed_k(DType t) noexcept {
  return t == DType::Q3_K_R16 || t == DType::Q4_K_R16 || t == DType::Q6_K_R16;
}

inline bool is_packed(DType t) noexcept {
  return t == DType::Q4_0_R16 || t == DType::Q4_1_R16 || t == DType::Q8_0_R16 || t == DType::Q5_0_R16 ||
         t == DType::Q5_1_R16 || is_packed_k(t);
}

/// Byte offsets of block b's quants and scales inside a group.
// Paired layouts put both blocks' scales first: a pair's lines are then first
// read in address order, the pattern the hardware prefetcher follows (scales
// after the quants cost decode ~30% on Q4_0). d of an even b one past the
// last pair is the matrix group's size.
inline std::size_t q8_0_r16_d(std::int64_t b) noexcept {
  return static_cast<std::size_t>(b >> 1) * 1088 + static_cast<std::size_t>(b & 1) * 32;
}
inline std::size_t q8_0_r16_qs(std::int64_t b) noexcept { return q8_0_r16_d(b & ~std::int64_t{1}) + 64 + static_cast<std::size_t>(b & 1) * 512; }
inline std::size_t q4_0_r16_d(std::int64_t b) noexcept {
  return static_cast<std::size_t>(b >> 1) * 576 + static_cast<std::size_t>(b & 1) * 32;
}
inline std::size_t q4_0_r16_qs(std::int64_t b) noexcept { return q4_0_r16_d(b & ~std::int64_t{1}) + 64 + static_cast<std::size_t>(b & 1) * 256; }
inline std::size_t q4_1_r16_qs(std::int64_t b) noexcept { return static_cast<std::size_t>(b) * 320; }
inline std::size_t q4_1_r16_d(std::int64_t b) noexcept { return q4_1_r16_qs(b) + 256; }  // m follows at +32
// Q5_0_R16 keeps blocks in pairs {d[b], d[b+1], qh[b], qs[b], qh[b+1], qs[b+1]} (704 bytes,
// 11 lines): 352-byte single blocks would put every other block's vectors across lines.
inline std::size_t q5_r16_d(bool min, std::int64_t b) noexcept {  // Q5_1: m at +32
  return min ? static_cast<std::size_t>(b) * 384 + 320
             : static_cast<std::size_t>(b >> 1) * 704 + static_cast<std::size_t>(b & 1) * 32;
}
inline std::size_t q5_r16_qh(bool min, std::int64_t b) noexcept {
  return min ? static_cast<std::size_t>(b) * 384 + 256
             : q5_r16_d(false, b & ~std::int64_t{1}) + 64 + static_cast<std::size_t>(b & 1) * 320;
}
inline std::size_t q5_r16_qs(bool min, std::int64_t b) noexcept {
  return min ? static_cast<std::size_t>(b) * 384 : q5_r16_qh(false, b) + 64;
}

// K-quant super-block b of a group and the parts inside it.
inline constexpr std::size_t kQ3KR16Bytes = 1856, kQ4KR16Bytes = 2368, kQ6KR16Bytes = 3392;
inline std::size_t q3_k_r16_ql(std::int64_t b, int k) noexcept {
  return static_cast<std::size_t>(b) * kQ3KR16Bytes + static_cast<std::size_t>(k) * 64;
}
inline std::size_t q3_k_r16_qh(std::int64_t b, int k) noexcept { return q3_k_r16_ql(b, 0) + 1024 + 64 * k; }
inline std::size_t q3_k_r16_sc(std::int64_t b, int p) noexcept { return q3_k_r16_ql(b, 0) + 1536 + 32 * p; }
inline std::size_t q3_k_r16_d(std::int64_t b) noexcept { return q3_k_r16_ql(b, 0) + 1792; }
inline std::size_t q4_k_r16_qs(std::int64_t b, int j, int c) noexcept {
  return static_cast<std::size_t>(b) * kQ4KR16Bytes + static_cast<std::size_t>(8 * j + c) * 64;
}
inline std::size_t q4_k_r16_sc(std::int64_t b, int s) noexcept { return q4_k_r16_qs(b, 0, 0) + 2048 + 16 * s; }
inline std::size_t q4_k_r16_mn(std::int64_t b, int s) noexcept { return q4_k_r16_qs(b, 0, 0) + 2176 + 16 * s; }
inline std::size_t q4_k_r16_d(std::int64_t b) noexcept { return q4_k_r16_qs(b, 0, 0) + 2304; }  // dmin at +32
inline std::size_t q6_k_r16_ql(std::int64_t b, int k) noexcept {
  return static_cast<std::size_t>(b) * kQ6KR16Bytes + static_cast<std::size_t>(k) * 64;
}
inline std::size_t q6_k_r16_qh(std::int64_t b, int k) noexcept { return q6_k_r16_ql(b, 0) + 2048 + 64 * k; }
inline std::size_t q6_k_r16_sc(std::int64_t b, int p) noexcept { return q6_k_r16_ql(b, 0) + 3072 + 32 * p; }
inline std::size_t q6_k_r16_d(std::int64_t b) noexcept { return q6_k_r16_ql(b, 0) + 3328; }

/// Q4_0_R16 -> Q4_0, Q4_1_R16 -> Q4_1, Q8_0_R16 -> Q8_0, Q5_0_R16 -> Q5_0, Q5_1_R16 -> Q5_1, Q3_K_R16 -> Q3_K, Q4_K_R16 -> Q4_K, Q6_K_R16 -> Q6_K.
DType packed_base(DType t) noexcept;

/// Bytes of one 16-row group of a packed matrix with k columns.
std::size_t packed_group_bytes(DType t, std::int64_t k) noexcept;

/// Row r of a packed matrix (k columns) back in its base type's block layout.
void unpack_row(DType t, const std::uint8_t* packed, std::int64_t k, std::int64_t r, std::uint8_t* dst) noexcept;

}  // namespace cnai::ops
