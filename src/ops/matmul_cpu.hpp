// CPU implementation of matmul / matmul_many (private to src/ops); arguments
// are already checked by matmul.cpp.
#pragma once

#include <span>

#include "cnai/ops/matmul.hpp"

namespace cnai::ops {

void matmul_many_cpu(const Tensor& x, std::span<const MatmulTarget> targets, ThreadPool& pool);

}  // namespace cnai::ops
