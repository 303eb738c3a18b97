// DType — element types, including GGUF's block-quantized ones.
// Numeric values equal GGML's type ids so GGUF tensor types map directly.
// A quantized type stores `block_size` elements in `type_size` bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "cnai/core/error.hpp"

namespace cnai {

enum class DType : std::uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
  // cnai's own CPU layouts, made at load by ops::pack_for_matmul and never read
  // from a file: the same blocks with 16 rows interleaved (K-quants with their scales
  // unpacked; see src/ops/matmul_pack.hpp).
  Q4_1_R16 = 60,
  Q8_0_R16 = 61,
  Q5_0_R16 = 62,
  Q5_1_R16 = 63,
  Q4_K_R16 = 64,
  Q6_K_R16 = 65,
  Q4_0_R16 = 66,
  Q3_K_R16 = 67,
};

struct DTypeTraits {
  std::string_view name;
  std::size_t block_size;  // elements per block (1 for plain types)
  std::size_t type_size;   // bytes per block
  bool quantized;
};

/// Traits of a known file type; std::nullopt for an id cnai does not know (and
/// for the in-memory packed layouts, which no file may claim).
std::optional<DTypeTraits> dtype_traits(std::uint32_t raw_type) noexcept;

/// Traits of `t` (t must be a known enumerator).
const DTypeTraits& traits(DType t);

std::string_view to_string(DType t);

/// Bytes taken by a row of `n` elements; throws Error(invalid_argument) if n is
/// not a multiple of the block size.
std::size_t row_bytes(DType t, std::int64_t n);

}  // namespace cnai
