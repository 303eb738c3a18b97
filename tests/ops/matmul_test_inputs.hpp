// Random inputs shared by the matmul tests: normal F32 tensors and weights of
// any type quantized from them (K-quants: random bytes with small sane scales).
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
  if (t == cnai::DType::Q4_K || t == cnai::DType::Q6_K) {
    std::mt19937 rng(seed);
    auto* p = static_cast<std::uint8_t*>(w.data());
    for (std::size_t i = 0; i < w.nbytes(); ++i) p[i] = static_cast<std::uint8_t>(rng());
    const std::size_t bsz = t == cnai::DType::Q4_K ? 144 : 210;
    for (std::size_t b = 0; b < w.nbytes() / bsz; ++b) {
      const std::uint16_t d = cnai::ops::f32_to_f16(0.002f), dmin = cnai::ops::f32_to_f16(0.01f);
      if (t == cnai::DType::Q4_K) {
        std::memcpy(p + b * bsz, &d, 2);
        std::memcpy(p + b * bsz + 2, &dmin, 2);
      } else {
        std::memcpy(p + b * bsz + 208, &d, 2);
      }
    }
    return w;
  }
  const cnai::Tensor f = random_f32(n, k, seed);
  for (std::int64_t r = 0; r < n; ++r)
    cnai::ops::quantize_row(t, f.data_as<float>() + r * k, w.row_ptr(r), k);
  return w;
}

}  // namespace cnai::testing
