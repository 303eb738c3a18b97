// matmul for every weight type, shape and kernel family against a
// double-precision reference built from dequantized weights (and, for
// quantized weights, the Q8-quantized activations the kernels dot with).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/ops/matmul.hpp"
#include "cnai/ops/quantize.hpp"
#include "matmul_test_inputs.hpp"
#include "ops/matmul_kernels.hpp"

using cnai::DType;
using cnai::Shape;
using cnai::Tensor;
namespace ops = cnai::ops;
using cnai::testing::random_f32;
using cnai::testing::random_weight;

namespace {


// What the kernels see of x: the Q8_0 (Q8_1 for Q4_1/Q5_1, Q8_K for the
// K-quants) round trip for weights dotted in integers, x itself otherwise.
std::vector<double> effective_x(const Tensor& x, DType wt) {
  const std::int64_t m = x.rows(), k = x.dim(1);
  std::vector<double> out(static_cast<std::size_t>(m * k));
  const bool kq = wt == DType::Q2_K || wt == DType::Q3_K || wt == DType::Q4_K || wt == DType::Q5_K ||
                  wt == DType::Q6_K;
  const bool q8 = kq || wt == DType::Q4_0 || wt == DType::Q4_1 || wt == DType::Q5_0 || wt == DType::Q5_1 ||
                  wt == DType::Q8_0;
  const DType act = kq ? DType::Q8_K : wt == DType::Q4_1 || wt == DType::Q5_1 ? DType::Q8_1 : DType::Q8_0;
  std::vector<std::uint8_t> buf(q8 ? cnai::row_bytes(act, k) : 0);
  std::vector<float> row(static_cast<std::size_t>(k));
  for (std::int64_t i = 0; i < m; ++i) {
    const float* xr = x.data_as<float>() + i * k;
    if (q8) {
      ops::quantize_row(act, xr, buf.data(), k);
      ops::dequantize_row(act, buf.data(), row.data(), k);
      xr = row.data();
    }
    for (std::int64_t j = 0; j < k; ++j) out[static_cast<std::size_t>(i * k + j)] = xr[j];
  }
  return out;
}

// Checks y against Σ x·w in double; tolerance relative to Σ |x|·|w|.
void check_against_reference(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor* bias,
                             const std::string& what) {
  const std::int64_t m = x.rows(), k = x.dim(1), n = w.dim(0);
  const auto xe = effective_x(x, w.dtype());
  std::vector<float> wrow(static_cast<std::size_t>(k));
  for (std::int64_t c = 0; c < n; ++c) {
    ops::dequantize_row(w.dtype(), w.row_ptr(c), wrow.data(), k);
    for (std::int64_t i = 0; i < m; ++i) {
      double ref = bias ? bias->data_as<float>()[c] : 0.0, mag = std::fabs(ref);
      for (std::int64_t j = 0; j < k; ++j) {
        const double p = xe[static_cast<std::size_t>(i * k + j)] * wrow[static_cast<std::size_t>(j)];
        ref += p;
        mag += std::fabs(p);
      }
      const double got = y.data_as<float>()[i * n + c];
      INFO(what, " at y[", i, ", ", c, "] ref=", ref, " got=", got);
      REQUIRE(std::fabs(got - ref) <= 2e-3 * mag + 1e-5);
    }
  }
}

std::vector<const char*> available_families() {
  std::vector<const char*> out;
  for (const char* name : {"scalar", "avx2", "avx512"})
    if (ops::force_matmul_isa(name)) out.push_back(name);
  ops::force_matmul_isa(nullptr);
  return out;
}

struct IsaGuard {
  ~IsaGuard() { ops::force_matmul_isa(nullptr); }
};

}  // namespace

TEST_CASE("matmul matches the double reference for every weight type, shape and ISA") {
  IsaGuard guard;
  cnai::ThreadPool pool1(1), pool2(2), pool3(3);
  const auto families = available_families();
  REQUIRE(!families.empty());
  for (const char* isa : families) {
    REQUIRE(ops::force_matmul_isa(isa));
    CHECK(std::string(ops::matmul_isa()).rfind(isa, 0) == 0);
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1,
                    DType::Q8_0, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
      const bool kq = cnai::traits(t).block_size == 256;
      const std::vector<std::int64_t> ks = kq ? std::vector<std::int64_t>{256, 512}
                                              : std::vector<std::int64_t>{32, 64, 96, 544};
      unsigned seed = 10;
      for (std::int64_t k : ks)
        for (std::int64_t m : {1, 3, 7, 17})
          for (std::int64_t n : {1, 5, 33}) {
            const Tensor x = random_f32(m, k, ++seed);
            const Tensor w = random_weight(t, n, k, ++seed);
            Tensor y = Tensor::empty(DType::F32, {m, n});
            // Threaded splits on the widest N only: each dispatch can cost
            // milliseconds on a busy machine, and the split logic is the same.
            cnai::ThreadPool& pool = n == 33 ? (m % 2 ? pool2 : pool3) : pool1;
            ops::matmul(x, w, y, pool);
            check_against_reference(x, w, y, nullptr,
                                    std::string(isa) + " " + std::string(cnai::to_string(t)) + " M=" +
                                        std::to_string(m) + " N=" + std::to_string(n) + " K=" + std::to_string(k));
          }
    }
  }
}

TEST_CASE("float weights at M=1 (the row-streaming GEMV) with K off the 16 and 64 multiples") {
  IsaGuard guard;
  cnai::ThreadPool pool(2);
  for (const char* isa : available_families()) {
    REQUIRE(ops::force_matmul_isa(isa));
    unsigned seed = 40;
    for (DType t : {DType::F32, DType::F16, DType::BF16})
      for (std::int64_t k : {1, 15, 17, 63, 65, 100, 143})
        for (std::int64_t n : {1, 7, 37}) {
          const Tensor x = random_f32(1, k, ++seed);
          const Tensor w = random_weight(t, n, k, ++seed);
          Tensor y = Tensor::empty(DType::F32, {1, n});
          ops::matmul(x, w, y, pool);
          check_against_reference(x, w, y, nullptr,
                                  std::string(isa) + " " + std::string(cnai::to_string(t)) + " M=1 N=" +
                                      std::to_string(n) + " K=" + std::to_string(k));
        }
  }
}

TEST_CASE("matmul with bias, and matmul_many equals separate matmuls") {
  IsaGuard guard;
  cnai::ThreadPool pool(2);
  for (const char* isa : available_families()) {
    REQUIRE(ops::force_matmul_isa(isa));
    const std::int64_t m = 5, k = 128;
    const Tensor x = random_f32(m, k, 1);
    const Tensor wq = random_weight(DType::Q4_1, 37, k, 2);
    const Tensor wk = random_weight(DType::Q8_0, 13, k, 3);
    const Tensor wv = random_weight(DType::F16, 9, k, 4);
    const Tensor bias = random_f32(1, 37, 5).reshape({37});
    Tensor yq = Tensor::empty(DType::F32, {m, 37}), yk = Tensor::empty(DType::F32, {m, 13}),
           yv = Tensor::empty(DType::F32, {m, 9});
    const ops::MatmulTarget targets[] = {{&wq, &yq, &bias}, {&wk, &yk}, {&wv, &yv}};
    ops::matmul_many(x, targets, pool);
    check_against_reference(x, wq, yq, &bias, std::string(isa) + " many/q4_1+bias");
    check_against_reference(x, wk, yk, nullptr, std::string(isa) + " many/q8_0");
    check_against_reference(x, wv, yv, nullptr, std::string(isa) + " many/f16");
    Tensor single = Tensor::empty(DType::F32, {m, 37});
    ops::matmul(x, wq, single, pool, &bias);
    CHECK(std::memcmp(single.data(), yq.data(), single.nbytes()) == 0);
  }
}

TEST_CASE("prefill-sized shapes match the reference in every ISA family") {
  IsaGuard guard;
  cnai::ThreadPool pool(2);
  const Tensor x = random_f32(64, 576, 7);
  for (DType t : {DType::Q4_1, DType::Q8_0, DType::Q4_0, DType::F16, DType::BF16}) {
    const Tensor w = random_weight(t, 70, 576, 8);
    for (const char* isa : available_families()) {
      REQUIRE(ops::force_matmul_isa(isa));
      Tensor y = Tensor::empty(DType::F32, {64, 70});
      ops::matmul(x, w, y, pool);
      check_against_reference(x, w, y, nullptr, std::string(isa) + " 64x70x576 " + std::string(cnai::to_string(t)));
    }
  }
}

TEST_CASE("matmul rejects mismatched shapes and types, naming the shapes") {
  cnai::ThreadPool pool(1);
  const Tensor x = random_f32(2, 64, 1);
  const Tensor w = random_weight(DType::Q8_0, 4, 96, 2);
  Tensor y = Tensor::empty(DType::F32, {2, 4});
  try {
    ops::matmul(x, w, y, pool);
    FAIL("expected an error");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == cnai::ErrorCode::invalid_argument);
    CHECK(std::string(e.what()).find("[2, 64]") != std::string::npos);
    CHECK(std::string(e.what()).find("[4, 96]") != std::string::npos);
  }
  const Tensor w64 = random_weight(DType::Q8_0, 4, 64, 3);
  Tensor bad_y = Tensor::empty(DType::F32, {2, 5});
  CHECK_THROWS_AS(ops::matmul(x, w64, bad_y, pool), cnai::Error);
  const Tensor bad_bias = random_f32(1, 3, 4);
  CHECK_THROWS_AS(ops::matmul(x, w64, y, pool, &bad_bias), cnai::Error);
  const Tensor xi = Tensor::zeros(DType::F16, {2, 64});
  CHECK_THROWS_AS(ops::matmul(xi, w64, y, pool), cnai::Error);
  const Tensor x48 = random_f32(2, 48, 5);
  const Tensor w48 = random_weight(DType::F32, 4, 48, 6);
  ops::matmul(x48, w48, y, pool);  // F32 has no block constraint
  check_against_reference(x48, w48, y, nullptr, "f32 K=48");
}

TEST_CASE("matmul_isa names a known family") {
  const std::string isa = ops::matmul_isa();
  CHECK((isa == "scalar" || isa == "avx2" || isa.rfind("avx512", 0) == 0));
  MESSAGE("default matmul kernels: ", isa);
}

TEST_CASE("every family quantizes activations to Q8_K exactly as GGML's reference") {
  IsaGuard guard;
  const std::int64_t m = 3, k = 512;
  Tensor x = random_f32(m, k, 21);
  float* xv = x.data_as<float>();
  xv[7] = 9.0f;      // row 0, block 0: one largest magnitude
  xv[300] = -9.0f;   // row 0, block 1: a negative largest
  xv[k + 5] = 4.0f;  // row 1, block 0: a tie of magnitudes, the first wins
  xv[k + 9] = -4.0f;
  for (std::int64_t j = 0; j < 256; ++j) xv[2 * k + 256 + j] = 0.0f;  // row 2, block 1: all zero
  for (const char* isa : available_families()) {
    REQUIRE(ops::force_matmul_isa(isa));
    std::vector<std::int8_t> qs(static_cast<std::size_t>(m * k));
    std::vector<float> d(static_cast<std::size_t>(m * k / 256));
    std::vector<std::int16_t> bsums(static_cast<std::size_t>(m * k / 16));
    ops::matmul_kernels().quantize_act_k(xv, m, k, ops::ActQ8K{qs.data(), d.data(), bsums.data(), k});
    std::vector<std::uint8_t> ref(cnai::row_bytes(DType::Q8_K, k));
    for (std::int64_t i = 0; i < m; ++i) {
      ops::quantize_row(DType::Q8_K, xv + i * k, ref.data(), k);
      for (std::int64_t b = 0; b < k / 256; ++b) {
        INFO(isa, " row ", i, " block ", b);
        const std::uint8_t* blk = ref.data() + b * 292;
        float rd;
        std::memcpy(&rd, blk, 4);
        CHECK(rd == d[static_cast<std::size_t>(i * (k / 256) + b)]);
        CHECK(std::memcmp(blk + 4, qs.data() + i * k + b * 256, 256) == 0);
        CHECK(std::memcmp(blk + 260, bsums.data() + (i * (k / 256) + b) * 16, 32) == 0);
      }
    }
  }
}
