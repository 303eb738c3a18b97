#include <doctest/doctest.h>

#include <cstdint>

#include "cnai/core/error.hpp"
#include "cnai/tensor/tensor.hpp"

TEST_CASE("dtype traits follow the GGML block layouts") {
  CHECK(cnai::traits(cnai::DType::Q4_0).type_size == 18);
  CHECK(cnai::traits(cnai::DType::Q4_1).type_size == 20);
  CHECK(cnai::traits(cnai::DType::Q8_0).type_size == 34);
  CHECK(cnai::traits(cnai::DType::Q4_K).type_size == 144);
  CHECK(cnai::traits(cnai::DType::Q6_K).type_size == 210);
  CHECK(cnai::row_bytes(cnai::DType::Q4_1, 64) == 40);
  CHECK_THROWS_AS(cnai::row_bytes(cnai::DType::Q4_1, 33), cnai::Error);
  CHECK_FALSE(cnai::dtype_traits(4).has_value());  // removed Q4_2
  CHECK_FALSE(cnai::dtype_traits(0xFFFFFFFFu).has_value());
}

TEST_CASE("Tensor owns aligned storage and slices rows in place") {
  auto t = cnai::Tensor::zeros(cnai::DType::F32, {3, 5});
  CHECK(t.numel() == 15);
  CHECK(t.rows() == 3);
  CHECK(t.row_bytes() == 20);
  CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
  t.data_as<float>()[5] = 2.5f;
  auto s = t.slice_rows(1, 3);
  CHECK(s.dim(0) == 2);
  CHECK(s.data_as<float>()[0] == 2.5f);
  CHECK_THROWS_AS(t.slice_rows(2, 4), cnai::Error);
  CHECK_THROWS_AS(t.reshape({4, 4}), cnai::Error);
  CHECK(t.reshape({15}).rank() == 1);
}
