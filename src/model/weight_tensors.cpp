#include "model/weight_tensors.hpp"

#include <sys/mman.h>

#include <cstdint>

#include "cnai/core/error.hpp"
#include "cnai/ops/matmul.hpp"
#include "cnai/ops/quantize.hpp"

namespace cnai::model {

void check_shape(const GgufTensorInfo& info, const Shape& want) {
  if (!(info.shape == want))
    throw Error(ErrorCode::model_format, "tensor '" + info.name + "' has shape " + info.shape.str() +
                                             ", expected " + want.str());
}

Tensor matrix_tensor(const GgufReader& g, const std::string& name, std::int64_t rows, std::int64_t cols) {
  const GgufTensorInfo& info = g.tensor_info(name);
  check_shape(info, Shape{rows, cols});
  if (!ops::matmul_supports(info.dtype))
    throw Error(ErrorCode::unsupported, "tensor '" + name + "' has type " + std::string(to_string(info.dtype)) +
                                            ", which has no matmul kernel");
  return g.tensor(info);
}

Tensor vector_f32(const GgufReader& g, const std::string& name, std::int64_t n) {
  const GgufTensorInfo& info = g.tensor_info(name);
  check_shape(info, Shape{n});
  Tensor t = g.tensor(info);
  if (info.dtype == DType::F32) return t;
  Tensor out = Tensor::empty(DType::F32, Shape{n});
  try {
    ops::dequantize_row(info.dtype, t.data(), out.data_as<float>(), n);
  } catch (const Error&) {
    throw Error(ErrorCode::unsupported, "tensor '" + name + "' has unsupported type " +
                                            std::string(to_string(info.dtype)));
  }
  return out;
}

void release_file_pages(const Tensor& t) {
  const auto page = static_cast<std::uintptr_t>(4096);
  const auto begin = (reinterpret_cast<std::uintptr_t>(t.data()) + page - 1) / page * page;
  const auto end = (reinterpret_cast<std::uintptr_t>(t.data()) + t.nbytes()) / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace cnai::model
