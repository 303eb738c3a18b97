// Tests of the encoder ops — layer_norm, gelu (every ISA's kernel) and
// bidirectional_attention over packed sequences — against plain double-precision
// references written here, at awkward shapes.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/ops/bidirectional_attention.hpp"
#include "cnai/ops/gelu.hpp"
#include "cnai/ops/layer_norm.hpp"
#include "ops/row_kernels.hpp"

using cnai::DType;
using cnai::Tensor;

namespace {

Tensor random_tensor(const cnai::Shape& shape, std::uint32_t seed, float lo = -2.0f, float hi = 2.0f) {
  Tensor t = Tensor::empty(DType::F32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = dist(rng);
  return t;
}

std::vector<float> values(const Tensor& t) { return {t.data_as<float>(), t.data_as<float>() + t.numel()}; }

double gelu_ref(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

std::vector<double> layer_norm_ref(const std::vector<float>& x, const std::vector<float>& w,
                                   const std::vector<float>& b, double eps, std::int64_t rows, std::int64_t d) {
  std::vector<double> y(x.size());
  for (std::int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (std::int64_t i = 0; i < d; ++i) mean += x[r * d + i];
    mean /= double(d);
    for (std::int64_t i = 0; i < d; ++i) var += (x[r * d + i] - mean) * (x[r * d + i] - mean);
    const double inv = 1.0 / std::sqrt(var / double(d) + eps);
    for (std::int64_t i = 0; i < d; ++i) y[r * d + i] = (x[r * d + i] - mean) * inv * w[i] + b[i];
  }
  return y;
}

// Every token of sequence s attends to every token of s, to no other.
std::vector<double> attention_ref(const std::vector<float>& q, const std::vector<float>& k,
                                  const std::vector<float>& v, const std::vector<std::int64_t>& starts,
                                  std::int64_t n_head, std::int64_t n_kv, std::int64_t hd, double scale) {
  std::vector<double> out(q.size(), 0.0);
  for (std::size_t s = 0; s + 1 < starts.size(); ++s) {
    const std::int64_t b = starts[s], n = starts[s + 1] - b;
    for (std::int64_t t = b; t < b + n; ++t) {
      for (std::int64_t h = 0; h < n_head; ++h) {
        const std::int64_t g = h / (n_head / n_kv);
        std::vector<double> p(static_cast<std::size_t>(n));
        double mx = -INFINITY, sum = 0;
        for (std::int64_t j = 0; j < n; ++j) {
          double d = 0;
          for (std::int64_t i = 0; i < hd; ++i) d += double(q[(t * n_head + h) * hd + i]) * k[((b + j) * n_kv + g) * hd + i];
          p[j] = d * scale;
          mx = std::max(mx, p[j]);
        }
        for (auto& x : p) sum += (x = std::exp(x - mx));
        for (std::int64_t j = 0; j < n; ++j)
          for (std::int64_t i = 0; i < hd; ++i) out[(t * n_head + h) * hd + i] += p[j] / sum * v[((b + j) * n_kv + g) * hd + i];
      }
    }
  }
  return out;
}

double max_abs_diff(const std::vector<double>& ref, const Tensor& got) {
  double m = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) m = std::max(m, std::abs(ref[i] - got.data_as<float>()[i]));
  return m;
}

}  // namespace

TEST_CASE("layer_norm matches the double reference, also in place and on large offsets") {
  for (auto [rows, d] : {std::pair<std::int64_t, std::int64_t>{1, 384}, {3, 7}, {5, 1}, {2, 133}}) {
    CAPTURE(rows);
    CAPTURE(d);
    // An offset of 50 with spread 1: E[x^2] - E[x]^2 would lose most digits here.
    const Tensor x = random_tensor({rows, d}, 11, 49.0f, 51.0f);
    const Tensor w = random_tensor({d}, 12);
    const Tensor b = random_tensor({d}, 13);
    const auto ref = layer_norm_ref(values(x), values(w), values(b), 1e-12, rows, d);
    Tensor y = Tensor::empty(DType::F32, {rows, d});
    cnai::ops::layer_norm(x, w, b, 1e-12f, y);
    CHECK(max_abs_diff(ref, y) < 2e-4);
    Tensor inplace = random_tensor({rows, d}, 11, 49.0f, 51.0f);
    cnai::ops::layer_norm(inplace, w, b, 1e-12f, inplace);
    CHECK(max_abs_diff(ref, inplace) < 2e-4);
  }
}

TEST_CASE("layer_norm rejects mismatched shapes and bad eps with invalid_argument") {
  const Tensor x = random_tensor({2, 8}, 1), w = random_tensor({8}, 2), b7 = random_tensor({7}, 3);
  Tensor y = Tensor::empty(DType::F32, {2, 8});
  CHECK_THROWS_AS(cnai::ops::layer_norm(x, w, b7, 1e-5f, y), cnai::Error);
  CHECK_THROWS_AS(cnai::ops::layer_norm(x, w, w, -1.0f, y), cnai::Error);
  Tensor y_wrong = Tensor::empty(DType::F32, {2, 9});
  CHECK_THROWS_AS(cnai::ops::layer_norm(x, w, w, 1e-5f, y_wrong), cnai::Error);
}

TEST_CASE("each ISA's gelu kernel matches the erf reference over a wide range") {
  namespace cpu = cnai::ops::cpu;
  std::vector<const cpu::RowKernels*> tables = {&cpu::row_kernels_generic()};
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
    tables.push_back(&cpu::row_kernels_avx2());
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    tables.push_back(&cpu::row_kernels_avx512());
  // -12 .. 12 in steps that hit 0, the tails (where erfc underflows) and a tail
  // shorter than a vector.
  std::vector<float> x;
  for (float v = -12.0f; v <= 12.0f; v += 0.013f) x.push_back(v);
  x.push_back(0.0f);
  for (const auto* kt : tables) {
    CAPTURE(kt->isa);
    std::vector<float> out(x.size());
    kt->gelu(x.data(), out.data(), static_cast<std::int64_t>(x.size()));
    double worst = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
      worst = std::max(worst, std::abs(out[i] - gelu_ref(x[i])) / std::max(1.0, std::abs(double(x[i]))));
    CHECK(worst < 5e-7);
    // The erf form, not tanh's: gelu(-1) = -0.158655 (tanh form: -0.158808).
    std::vector<float> one{-1.0f}, got(1);
    kt->gelu(one.data(), got.data(), 1);
    CHECK(got[0] == doctest::Approx(-0.15865525).epsilon(1e-6));
  }
}

TEST_CASE("gelu on tensors works in place and checks shapes") {
  Tensor x = random_tensor({3, 37}, 5, -6.0f, 6.0f);
  const auto before = values(x);
  cnai::ops::gelu(x, x);
  for (std::size_t i = 0; i < before.size(); ++i) CHECK(x.data_as<float>()[i] == doctest::Approx(gelu_ref(before[i])).epsilon(1e-5));
  Tensor wrong = Tensor::empty(DType::F32, {3, 36});
  CHECK_THROWS_AS(cnai::ops::gelu(x, wrong), cnai::Error);
  CHECK(cnai::ops::gelu(1.0f) == doctest::Approx(0.8413447).epsilon(1e-6));
}

TEST_CASE("bidirectional_attention matches the reference for packed sequences of awkward lengths") {
  cnai::ThreadPool pool(3);
  struct Case {
    std::vector<std::int64_t> lengths;
    std::int64_t n_head, n_kv, hd;
  };
  for (const Case& c : {Case{{1}, 1, 1, 8}, Case{{5, 1, 17, 33}, 12, 12, 32}, Case{{40, 3}, 4, 2, 19},
                        Case{{70}, 6, 1, 64}}) {
    std::vector<std::int64_t> starts{0};
    for (auto n : c.lengths) starts.push_back(starts.back() + n);
    const std::int64_t t = starts.back();
    CAPTURE(t);
    CAPTURE(c.n_head);
    CAPTURE(c.n_kv);
    const Tensor q = random_tensor({t, c.n_head, c.hd}, 21);
    const Tensor k = random_tensor({t, c.n_kv, c.hd}, 22);
    const Tensor v = random_tensor({t, c.n_kv, c.hd}, 23);
    Tensor out = Tensor::empty(DType::F32, {t, c.n_head, c.hd});
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.hd));
    cnai::ops::bidirectional_attention(q, k, v, starts, scale, out, pool);
    const auto ref = attention_ref(values(q), values(k), values(v), starts, c.n_head, c.n_kv, c.hd, scale);
    CHECK(max_abs_diff(ref, out) < 1e-5);
  }
}

TEST_CASE("bidirectional_attention: one sequence alone equals the same sequence in a batch") {
  // The mask must keep the neighbours out: sequence 1 of a batch gives the same
  // rows as that sequence run alone.
  cnai::ThreadPool pool(2);
  const std::int64_t H = 4, hd = 16, a = 9, b = 13;
  const Tensor q = random_tensor({a + b, H, hd}, 31), k = random_tensor({a + b, H, hd}, 32),
               v = random_tensor({a + b, H, hd}, 33);
  Tensor both = Tensor::empty(DType::F32, {a + b, H, hd});
  const std::vector<std::int64_t> starts{0, a, a + b};
  cnai::ops::bidirectional_attention(q, k, v, starts, 0.25f, both, pool);
  const Tensor q1 = q.slice_rows(a, a + b), k1 = k.slice_rows(a, a + b), v1 = v.slice_rows(a, a + b);
  Tensor alone = Tensor::empty(DType::F32, {b, H, hd});
  const std::vector<std::int64_t> one{0, b};
  cnai::ops::bidirectional_attention(q1, k1, v1, one, 0.25f, alone, pool);
  for (std::int64_t i = 0; i < b * H * hd; ++i) CHECK(alone.data_as<float>()[i] == both.data_as<float>()[a * H * hd + i]);
}

TEST_CASE("bidirectional_attention rejects bad sequence offsets and shapes") {
  cnai::ThreadPool pool(1);
  const Tensor q = random_tensor({6, 2, 4}, 1), k = random_tensor({6, 2, 4}, 2);
  Tensor out = Tensor::empty(DType::F32, {6, 2, 4});
  auto run = [&](std::vector<std::int64_t> starts) {
    cnai::ops::bidirectional_attention(q, k, k, starts, 0.5f, out, pool);
  };
  CHECK_NOTHROW(run({0, 2, 6}));
  CHECK_THROWS_AS(run({0}), cnai::Error);
  CHECK_THROWS_AS(run({0, 5}), cnai::Error);     // does not reach T
  CHECK_THROWS_AS(run({1, 6}), cnai::Error);     // does not start at 0
  CHECK_THROWS_AS(run({0, 3, 3, 6}), cnai::Error);  // empty sequence
  const Tensor k3 = random_tensor({6, 3, 4}, 3);
  CHECK_THROWS_AS(cnai::ops::bidirectional_attention(q, k3, k3, std::vector<std::int64_t>{0, 6}, 0.5f, out, pool),
                  cnai::Error);
}
