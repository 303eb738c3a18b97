// Packed weight layouts (private to src/ops): Q4_1_R16 and Q8_0_R16 hold the
// blocks of Q4_1/Q8_0 with 16 rows interleaved, so a single-row GEMV streams
// one linear, 64-byte-aligned run and each vpdpbusd serves 16 rows at once.
//
// Group g (rows 16g..16g+15, rows past N zero), nb = K / 32 blocks, bytes:
//   Q8_0_R16: qs[nb][8][16][4]  byte = w.qs[4c + j] ^ 0x80 (unsigned w + 128)
//             d[nb][16]         f16 scales
//   Q4_1_R16: qs[nb][4][16][4]  byte = w.qs[4c + j] (low nibble: element 4c+j,
//                               high nibble: element 16+4c+j)
//             dm[nb][2][16]     f16 d then f16 m of the 16 rows
// [c][r][j]: chunk c of row r, so a 64-byte line holds 4 bytes of each row.
// Each group starts on a 64-byte boundary (Q8_0_R16 pads odd nb).
#pragma once

#include <cstddef>
#include <cstdint>

#include "cnai/tensor/dtype.hpp"

namespace cnai::ops {

inline constexpr std::int64_t kPackRows = 16;

inline bool is_packed(DType t) noexcept { return t == DType::Q4_1_R16 || t == DType::Q8_0_R16; }

/// Q4_1_R16 -> Q4_1, Q8_0_R16 -> Q8_0.
DType packed_base(DType t) noexcept;

/// Bytes of one 16-row group of a packed matrix with k columns.
std::size_t packed_group_bytes(DType t, std::int64_t k) noexcept;

/// Row r of a packed matrix (k columns) back in its base type's block layout.
void unpack_row(DType t, const std::uint8_t* packed, std::int64_t k, std::int64_t r, std::uint8_t* dst) noexcept;

}  // namespace cnai::ops
