// matmul must not touch the heap once its scratch has grown to the shape in
// use (the per-token hot path): counted with a replaced global operator new.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>

#include "cnai/ops/matmul.hpp"
#include "cnai/ops/quantize.hpp"

#include "support/count_allocations.hpp"

using cnai::testing::g_allocations;
using cnai::testing::g_counting;

TEST_CASE("matmul and matmul_many allocate nothing in steady state") {
  using cnai::DType;
  using cnai::Tensor;
  cnai::ThreadPool pool(2);
  const std::int64_t m = 7, k = 96;
  Tensor x = Tensor::empty(DType::F32, {m, k});
  std::mt19937 rng(3);
  std::normal_distribution<float> dist;
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data_as<float>()[i] = dist(rng);
  Tensor w1 = Tensor::empty(DType::Q4_1, {40, k}), w2 = Tensor::empty(DType::Q8_0, {24, k}),
         w3 = Tensor::empty(DType::F16, {8, k});
  for (Tensor* w : {&w1, &w2, &w3})
    for (std::int64_t r = 0; r < w->dim(0); ++r) cnai::ops::quantize_row(w->dtype(), x.data_as<float>(), w->row_ptr(r), k);
  Tensor y1 = Tensor::empty(DType::F32, {m, 40}), y2 = Tensor::empty(DType::F32, {m, 24}),
         y3 = Tensor::empty(DType::F32, {m, 8});
  const cnai::ops::MatmulTarget targets[] = {{&w1, &y1}, {&w2, &y2}, {&w3, &y3}};
  cnai::ops::matmul_many(x, targets, pool);  // warm-up grows the scratch
  cnai::ops::matmul(x, w1, y1, pool);
  g_allocations = 0;
  g_counting = true;
  for (int rep = 0; rep < 20; ++rep) {
    cnai::ops::matmul_many(x, targets, pool);
    cnai::ops::matmul(x, w2, y2, pool);
  }
  g_counting = false;
  CHECK(g_allocations.load() == 0);
}
