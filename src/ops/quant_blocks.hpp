// Block layouts of GGML/GGUF's quantized types (private to src/ops).
// Byte-for-byte the structs of ggml-common.h, so GGUF weights are used in place.
#pragma once

#include <cstdint>

namespace cnai::ops {

inline constexpr int kQK = 32;    // elements per Q4_0/Q4_1/Q8_0/Q8_1 block
inline constexpr int kQK_K = 256; // elements per K-quant superblock

struct BlockQ4_0 {
  std::uint16_t d;       // f16 scale; x = (q - 8) * d
  std::uint8_t qs[16];   // low nibbles: elements 0..15, high nibbles: 16..31
};
struct BlockQ4_1 {
  std::uint16_t d;       // f16 scale; x = q * d + m
  std::uint16_t m;       // f16 minimum
  std::uint8_t qs[16];
};
struct BlockQ8_0 {
  std::uint16_t d;
  std::int8_t qs[32];
};
struct BlockQ8_1 {
  std::uint16_t d;       // f16 scale
  std::uint16_t s;       // f16 d * sum(qs)
  std::int8_t qs[32];
};
struct BlockQ4_K {
  std::uint16_t d;           // super-block scale for the 6-bit scales
  std::uint16_t dmin;        // super-block scale for the 6-bit mins
  std::uint8_t scales[12];   // 8 scales and 8 mins, 6 bits each
  std::uint8_t qs[128];      // 4-bit quants
};
struct BlockQ6_K {
  std::uint8_t ql[128];      // low 4 bits
  std::uint8_t qh[64];       // high 2 bits
  std::int8_t scales[16];    // 8-bit scales per 16 elements
  std::uint16_t d;           // f16 super-block scale
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ6_K) == 210);

}  // namespace cnai::ops
