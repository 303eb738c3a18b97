// embedding — gathers (and dequantizes) rows of a token table.
#pragma once

#include <cstdint>
#include <span>

#include "cnai/tensor/tensor.hpp"

namespace cnai::ops {

/// out[i, :] = table[ids[i], :] as F32. table: [V, D] any supported dtype;
/// out: F32 [ids.size(), D]. An id outside [0, V) is Error(invalid_argument).
void embedding(const Tensor& table, std::span<const std::int32_t> ids, Tensor& out);

}  // namespace cnai::ops
