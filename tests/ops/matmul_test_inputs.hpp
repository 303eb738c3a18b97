// Random inputs shared by the matmul tests: normal F32 tensors and weights of
// any type quantized from them.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>

#include "cnai/ops/quantize.hpp"
#include "cnai/tensor/tensor.hpp"

namespace cnai::testing {

inline cnai::Tensor random_f32(std::int64_t rows, std::int64_t cols, unsigned seed) {
  cnai::Tensor t = Tensor::empty(cnai::DType::F32, {rows, cols});
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = dist(rng);
  return t;
}

inline cnai::Tensor random_weight(cnai::DType t, std::int64_t n, std::int64_t k, unsigned seed) {
  cnai::Tensor w = Tensor::empty(t, {n, k});
  const cnai::Tensor f = random_f32(n, k, seed);
  for (std::int64_t r = 0; r < n; ++r)
    cnai::ops::quantize_row(t, f.data_as<float>() + r * k, w.row_ptr(r), k);
  return w;
}

}  // namespace cnai::testing
