// embedding gathers and dequantizes rows; ids outside the table are errors.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/ops/embedding.hpp"
#include "cnai/ops/quantize.hpp"

using cnai::DType;
using cnai::Tensor;
namespace ops = cnai::ops;

TEST_CASE("embedding returns the dequantized rows of the ids, in order") {
  const std::int64_t V = 10, D = 512;  // whole K-quant super-blocks
  std::vector<float> src(static_cast<std::size_t>(V * D));
  std::mt19937 rng(1);
  std::normal_distribution<float> dist;
  for (auto& v : src) v = dist(rng);
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0,
                  DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    INFO(cnai::to_string(t));
    // 2- and 3-bit quants of normal values stray further than a 4-bit step.
    const float tol = t == DType::Q2_K ? 1.5f : t == DType::Q3_K ? 1.0f : 0.5f;
    Tensor table = Tensor::empty(t, {V, D});
    for (std::int64_t r = 0; r < V; ++r) ops::quantize_row(t, src.data() + r * D, table.row_ptr(r), D);
    const std::vector<std::int32_t> ids = {3, 0, 9, 3};
    Tensor out = Tensor::empty(DType::F32, {4, D});
    ops::embedding(table, ids, out);
    std::vector<float> ref(static_cast<std::size_t>(D));
    for (std::size_t i = 0; i < ids.size(); ++i) {
      ops::dequantize_row(t, table.row_ptr(ids[i]), ref.data(), D);
      for (std::int64_t j = 0; j < D; ++j) {
        REQUIRE(out.data_as<float>()[static_cast<std::int64_t>(i) * D + j] == ref[static_cast<std::size_t>(j)]);
        // and close to the original values
        REQUIRE(std::fabs(ref[static_cast<std::size_t>(j)] - src[static_cast<std::size_t>(ids[i] * D + j)]) < tol);
      }
    }
  }
}

TEST_CASE("embedding rejects ids outside [0, V) and wrong output shapes") {
  Tensor table = Tensor::zeros(DType::F32, {4, 8});
  Tensor out = Tensor::empty(DType::F32, {1, 8});
  for (std::int32_t bad : {-1, 4, 1000}) {
    const std::vector<std::int32_t> ids = {bad};
    try {
      ops::embedding(table, ids, out);
      FAIL("expected an error");
    } catch (const cnai::Error& e) {
      CHECK(e.code() == cnai::ErrorCode::invalid_argument);
      CHECK(std::string(e.what()).find(std::to_string(bad)) != std::string::npos);
    }
  }
  Tensor wrong = Tensor::empty(DType::F32, {2, 8});
  const std::vector<std::int32_t> ids = {1};
  CHECK_THROWS_AS(ops::embedding(table, ids, wrong), cnai::Error);
}
