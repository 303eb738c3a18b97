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
struct BlockQ5_0 {
  std::uint16_t d;       // f16 scale; x = (q - 16) * d, q = nibble | high bit << 4
  std::uint8_t qh[4];    // bit j: high bit of element j
  std::uint8_t qs[16];   // as Q4_0
};
struct BlockQ5_1 {
  std::uint16_t d;       // x = q * d + m
  std::uint16_t m;
  std::uint8_t qh[4];
  std::uint8_t qs[16];
};
struct BlockQ2_K {
  std::uint8_t scales[16];   // per 16 elements: low nibble scale, high nibble min
  std::uint8_t qs[64];       // 2-bit quants
  std::uint16_t d;           // super-block scale for the scales
  std::uint16_t dmin;        // super-block scale for the mins
};
struct BlockQ3_K {
  std::uint8_t hmask[32];    // high bit of each 3-bit quant
  std::uint8_t qs[64];       // low 2 bits
  std::uint8_t scales[12];   // 16 scales, 6 bits each (stored + 32)
  std::uint16_t d;
};
struct BlockQ4_K {
  std::uint16_t d;           // super-block scale for the 6-bit scales
  std::uint16_t dmin;        // super-block scale for the 6-bit mins
  std::uint8_t scales[12];   // 8 scales and 8 mins, 6 bits each
  std::uint8_t qs[128];      // 4-bit quants
};
struct BlockQ5_K {
  std::uint16_t d;
  std::uint16_t dmin;
  std::uint8_t scales[12];   // as Q4_K
  std::uint8_t qh[32];       // 5th bit of each quant
  std::uint8_t qs[128];      // low 4 bits
};
struct BlockQ6_K {
  std::uint8_t ql[128];      // low 4 bits
  std::uint8_t qh[64];       // high 2 bits
  std::int8_t scales[16];    // 8-bit scales per 16 elements
  std::uint16_t d;           // f16 super-block scale
};

// Activations for the K-quants: one f32 scale per 256, Σq per 16 elements.
struct BlockQ8_K {
  float d;
  std::int8_t qs[256];
  std::int16_t bsums[16];
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ8_K) == 292);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ6_K) == 210);

}  // namespace cnai::ops
