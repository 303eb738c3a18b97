#include "cnai/tensor/dtype.hpp"

#include <string>
#include <utility>

#include "cnai/core/error.hpp"

namespace cnai {

std::optional<DTypeTraits> dtype_traits(std::uint32_t raw) noexcept {
  switch (static_cast<DType>(raw)) {
    case DType::F32: return DTypeTraits{"F32", 1, 4, false};
    case DType::F16: return DTypeTraits{"F16", 1, 2, false};
    case DType::BF16: return DTypeTraits{"BF16", 1, 2, false};
    case DType::F64: return DTypeTraits{"F64", 1, 8, false};
    case DType::I8: return DTypeTraits{"I8", 1, 1, false};
    case DType::I16: return DTypeTraits{"I16", 1, 2, false};
    case DType::I32: return DTypeTraits{"I32", 1, 4, false};
    case DType::I64: return DTypeTraits{"I64", 1, 8, false};
    case DType::Q4_0: return DTypeTraits{"Q4_0", 32, 2 + 16, true};
    case DType::Q4_1: return DTypeTraits{"Q4_1", 32, 2 + 2 + 16, true};
    case DType::Q5_0: return DTypeTraits{"Q5_0", 32, 2 + 4 + 16, true};
    case DType::Q5_1: return DTypeTraits{"Q5_1", 32, 2 + 2 + 4 + 16, true};
    case DType::Q8_0: return DTypeTraits{"Q8_0", 32, 2 + 32, true};
    case DType::Q8_1: return DTypeTraits{"Q8_1", 32, 2 + 2 + 32, true};
    case DType::Q2_K: return DTypeTraits{"Q2_K", 256, 16 + 64 + 2 + 2, true};
    case DType::Q3_K: return DTypeTraits{"Q3_K", 256, 32 + 64 + 12 + 2, true};
    case DType::Q4_K: return DTypeTraits{"Q4_K", 256, 2 + 2 + 12 + 128, true};
    case DType::Q5_K: return DTypeTraits{"Q5_K", 256, 2 + 2 + 12 + 32 + 128, true};
    case DType::Q6_K: return DTypeTraits{"Q6_K", 256, 128 + 64 + 16 + 2, true};
    case DType::Q8_K: return DTypeTraits{"Q8_K", 256, 4 + 256 + 32, true};
    case DType::Q4_1_R16: case DType::Q8_0_R16: case DType::Q5_0_R16: case DType::Q5_1_R16:
    case DType::Q4_K_R16: case DType::Q6_K_R16: case DType::Q4_0_R16: case DType::Q3_K_R16:
      return std::nullopt;
  }
  return std::nullopt;
}

const DTypeTraits& traits(DType t) {
  constexpr std::uint32_t kTable = 68;  // ids 0..67
  static const auto table = [] {
    struct Table {
      DTypeTraits v[kTable]{};
      bool known[kTable]{};
    } tb;
    for (std::uint32_t i = 0; i < kTable; ++i) {
      if (auto tr = dtype_traits(i)) {
        tb.v[i] = *tr;
        tb.known[i] = true;
      }
    }
    // Packed layouts: per row, the same bytes per block as their base type.
    for (auto [packed, tr] : {std::pair{DType::Q4_1_R16, DTypeTraits{"Q4_1_R16", 32, 2 + 2 + 16, true}},
                         std::pair{DType::Q8_0_R16, DTypeTraits{"Q8_0_R16", 32, 2 + 32, true}},
                         std::pair{DType::Q5_0_R16, DTypeTraits{"Q5_0_R16", 32, 2 + 4 + 16, true}},
                         std::pair{DType::Q5_1_R16, DTypeTraits{"Q5_1_R16", 32, 2 + 2 + 4 + 16, true}},
                         std::pair{DType::Q4_K_R16, DTypeTraits{"Q4_K_R16", 256, 2 + 2 + 12 + 128, true}},
                         std::pair{DType::Q6_K_R16, DTypeTraits{"Q6_K_R16", 256, 128 + 64 + 16 + 2, true}},
                         std::pair{DType::Q4_0_R16, DTypeTraits{"Q4_0_R16", 32, 2 + 16, true}},
                         std::pair{DType::Q3_K_R16, DTypeTraits{"Q3_K_R16", 256, 32 + 64 + 12 + 2, true}}}) {
      tb.v[static_cast<std::uint32_t>(packed)] = tr;
      tb.known[static_cast<std::uint32_t>(packed)] = true;
    }
    return tb;
  }();
  const auto i = static_cast<std::uint32_t>(t);
  if (i >= kTable || !table.known[i]) {
    throw Error(ErrorCode::invalid_argument, "unknown dtype id " + std::to_string(i));
  }
  return table.v[i];
}

std::string_view to_string(DType t) { return traits(t).name; }

std::size_t row_bytes(DType t, std::int64_t n) {
  const auto& tr = traits(t);
  if (n < 0 || n % static_cast<std::int64_t>(tr.block_size) != 0) {
    throw Error(ErrorCode::invalid_argument,
                "row of " + std::to_string(n) + " elements is not a multiple of " +
                    std::string(tr.name) + "'s block size " + std::to_string(tr.block_size));
  }
  return static_cast<std::size_t>(n) / tr.block_size * tr.type_size;
}

}  // namespace cnai
