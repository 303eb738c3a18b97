// Weight tensors borrowed from a GGUF file with their shapes checked: matrices
// for matmul, 1-D vectors as F32, and releasing a repacked source's file pages.
// (the decoder's and the encoder's loaders both use these.)
#pragma once

#include <string>

#include "cnai/gguf/gguf.hpp"
#include "cnai/tensor/tensor.hpp"

namespace cnai::model {

/// Error(model_format) naming the tensor when its shape is not `want`.
void check_shape(const GgufTensorInfo& info, const Shape& want);

/// A [rows, cols] matrix in place; Error(unsupported) for a type with no matmul kernel.
Tensor matrix_tensor(const GgufReader& g, const std::string& name, std::int64_t rows, std::int64_t cols);

/// A [n] vector as F32 (converted once when stored otherwise).
Tensor vector_f32(const GgufReader& g, const std::string& name, std::int64_t n);

/// Drops this process's mapping of the whole pages inside `t` (a file-mapped
/// matrix already repacked elsewhere); the file stays in the page cache.
void release_file_pages(const Tensor& t);

}  // namespace cnai::model
