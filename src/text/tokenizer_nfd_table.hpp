// Accent stripping table for WordPiece: a code point's canonical decomposition
// without its nonspacing marks (sorted by code point; zeros pad `base`).
#pragma once

#include <cstddef>
#include <cstdint>

namespace cnai::text {

struct NfdStripped {
  std::uint32_t code_point;
  std::uint32_t base[3];
};

extern const NfdStripped kNfdStripped[];
extern const std::size_t kNfdStrippedCount;

}  // namespace cnai::text
