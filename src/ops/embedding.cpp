// embedding: row gather with dequantization to F32.
#include "cnai/ops/embedding.hpp"

#include <string>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/ops/quantize.hpp"
#include "ops/matmul_pack.hpp"

namespace cnai::ops {

void embedding(const Tensor& table, std::span<const std::int32_t> ids, Tensor& out) {
  if (table.rank() != 2)
    throw Error(ErrorCode::invalid_argument, "embedding: table must be [V, D], got " + table.shape().str());
  const std::int64_t V = table.dim(0), D = table.dim(1);
  const auto n = static_cast<std::int64_t>(ids.size());
  if (out.dtype() != DType::F32 || out.rows() != n || out.dim(-1) != D || (n > 0 && !out.data()))
    throw Error(ErrorCode::invalid_argument, "embedding: output must be F32 [" + std::to_string(n) + ", " +
                                                 std::to_string(D) + "], got " + out.shape().str());
  if (table.device() != Device::cpu || out.device() != Device::cpu)
    throw Error(ErrorCode::unsupported, "embedding: only CPU tensors are supported in this build");
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int32_t id = ids[static_cast<std::size_t>(i)];
    if (id < 0 || id >= V)
      throw Error(ErrorCode::invalid_argument, "embedding: token id " + std::to_string(id) + " at position " +
                                                   std::to_string(i) + " is outside [0, " + std::to_string(V) + ")");
    float* dst = out.data_as<float>() + i * D;
    if (is_packed(table.dtype())) {
      // A tied output matrix packed for matmul: rebuild the row's blocks first.
      thread_local std::vector<std::uint8_t> row;
      row.resize(row_bytes(packed_base(table.dtype()), D));
      unpack_row(table.dtype(), table.data_as<std::uint8_t>(), D, id, row.data());
      dequantize_row(packed_base(table.dtype()), row.data(), dst, D);
    } else {
      dequantize_row(table.dtype(), table.row_ptr(id), dst, D);
    }
  }
}

}  // namespace cnai::ops
