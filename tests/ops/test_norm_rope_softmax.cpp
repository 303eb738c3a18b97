// Tests of rms_norm, rope, softmax, swiglu and geglu against plain double-precision
// references written here, at awkward shapes.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/ops/rms_norm.hpp"
#include "cnai/ops/rope.hpp"
#include "cnai/ops/softmax.hpp"
#include "cnai/ops/geglu.hpp"
#include "cnai/ops/swiglu.hpp"

using cnai::DType;
using cnai::Tensor;

namespace {

Tensor random_tensor(const cnai::Shape& shape, std::uint32_t seed, float lo = -2.0f,
                     float hi = 2.0f) {
  Tensor t = Tensor::empty(DType::F32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  float* p = t.data_as<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  return t;
}

std::vector<float> copy_of(const Tensor& t) {
  const float* p = t.data_as<float>();
  return {p, p + t.numel()};
}

double max_abs_diff(const std::vector<double>& ref, const Tensor& got) {
  const float* g = got.data_as<float>();
  double m = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) m = std::max(m, std::abs(ref[i] - g[i]));
  return m;
}

std::vector<double> rms_norm_ref(const std::vector<float>& x, const std::vector<float>& w,
                                 double eps, std::int64_t rows, std::int64_t d) {
  std::vector<double> y(x.size());
  for (std::int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (std::int64_t i = 0; i < d; ++i) ss += double(x[r * d + i]) * x[r * d + i];
    const double inv = 1.0 / std::sqrt(ss / double(d) + eps);
    for (std::int64_t i = 0; i < d; ++i) y[r * d + i] = x[r * d + i] * inv * w[i];
  }
  return y;
}

}  // namespace

TEST_CASE("rms_norm matches the double reference, also in place") {
  for (auto [rows, d] : {std::pair<std::int64_t, std::int64_t>{1, 576}, {3, 7}, {5, 1}, {2, 133}}) {
    CAPTURE(rows);
    CAPTURE(d);
    Tensor x = random_tensor({rows, d}, 1);
    Tensor w = random_tensor({d}, 2, 0.5f, 1.5f);
    Tensor y = Tensor::empty(DType::F32, {rows, d});
    const auto ref = rms_norm_ref(copy_of(x), copy_of(w), 1e-5, rows, d);
    cnai::ops::rms_norm(x, w, 1e-5f, y);
    CHECK(max_abs_diff(ref, y) < 1e-5);
    cnai::ops::rms_norm(x, w, 1e-5f, x);  // y aliases x
    CHECK(max_abs_diff(ref, x) < 1e-5);
  }
}

TEST_CASE("rms_norm rejects mismatched shapes and dtypes, naming the shapes") {
  Tensor x = random_tensor({2, 8}, 3);
  Tensor w = random_tensor({7}, 4);
  Tensor y = Tensor::empty(DType::F32, {2, 8});
  try {
    cnai::ops::rms_norm(x, w, 1e-5f, y);
    FAIL("expected an error");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == cnai::ErrorCode::invalid_argument);
    CHECK(std::string(e.what()).find("[7]") != std::string::npos);
    CHECK(std::string(e.what()).find("[2, 8]") != std::string::npos);
  }
  Tensor y_bad = Tensor::empty(DType::F32, {2, 9});
  Tensor w_ok = random_tensor({8}, 5);
  CHECK_THROWS_AS(cnai::ops::rms_norm(x, w_ok, 1e-5f, y_bad), cnai::Error);
  Tensor x16 = Tensor::zeros(DType::F16, {2, 8});
  CHECK_THROWS_AS(cnai::ops::rms_norm(x16, w_ok, 1e-5f, y), cnai::Error);
}

namespace {

// Rotates each head as GGML does: normal = adjacent pairs, neox = split halves.
std::vector<double> rope_ref(const std::vector<float>& x, std::int64_t t_n, std::int64_t h_n,
                             std::int64_t d, const std::vector<std::int32_t>& pos,
                             const cnai::ops::RopeParams& p) {
  std::vector<double> y(x.begin(), x.end());
  const int half = p.n_rot / 2;
  for (std::int64_t t = 0; t < t_n; ++t) {
    for (std::int64_t h = 0; h < h_n; ++h) {
      const std::int64_t base = (t * h_n + h) * d;
      for (int i = 0; i < half; ++i) {
        double theta = pos[std::size_t(t)] * double(p.freq_scale) *
                       std::pow(double(p.freq_base), -2.0 * i / p.n_rot);
        if (p.freq_factors) theta /= p.freq_factors[i];
        const std::int64_t a = p.style == cnai::ops::RopeStyle::normal ? 2 * i : i;
        const std::int64_t b = p.style == cnai::ops::RopeStyle::normal ? 2 * i + 1 : i + half;
        const double x0 = x[base + a], x1 = x[base + b];
        y[base + a] = x0 * std::cos(theta) - x1 * std::sin(theta);
        y[base + b] = x0 * std::sin(theta) + x1 * std::cos(theta);
      }
    }
  }
  return y;
}

}  // namespace

TEST_CASE("rope normal and neox styles match the double reference") {
  const std::vector<float> factors = {1.0f, 1.5f, 2.0f, 4.0f, 8.0f, 1.0f, 3.0f, 1.25f,
                                      1.0f, 1.0f, 2.0f, 2.0f, 6.0f, 1.0f, 1.0f, 9.0f};
  struct Case {
    std::int64_t t, h, d;
    int n_rot;
    cnai::ops::RopeStyle style;
    float base, scale;
    const float* ff;
  };
  using S = cnai::ops::RopeStyle;
  const Case cases[] = {
      {1, 9, 64, 64, S::normal, 10000.0f, 1.0f, nullptr},
      {7, 3, 64, 64, S::neox, 10000.0f, 1.0f, nullptr},
      {3, 2, 80, 32, S::normal, 500000.0f, 0.5f, factors.data()},  // n_rot < head_dim
      {4, 5, 80, 32, S::neox, 1000000.0f, 0.25f, factors.data()},
      {2, 1, 6, 2, S::normal, 100.0f, 1.0f, nullptr},
  };
  for (const Case& c : cases) {
    CAPTURE(c.d);
    CAPTURE(c.n_rot);
    CAPTURE(int(c.style));
    Tensor x = random_tensor({c.t, c.h, c.d}, 7);
    std::vector<std::int32_t> pos;
    for (std::int64_t t = 0; t < c.t; ++t) pos.push_back(std::int32_t(t * 997 + 5));
    cnai::ops::RopeParams p;
    p.n_rot = c.n_rot;
    p.freq_base = c.base;
    p.freq_scale = c.scale;
    p.style = c.style;
    p.freq_factors = c.ff;
    const auto ref = rope_ref(copy_of(x), c.t, c.h, c.d, pos, p);
    cnai::ops::rope(x, pos, p);
    CHECK(max_abs_diff(ref, x) < 2e-5);
  }
}

TEST_CASE("rope at position 0 is the identity and rejects bad parameters") {
  Tensor x = random_tensor({1, 2, 8}, 9);
  const auto before = copy_of(x);
  cnai::ops::RopeParams p;
  p.n_rot = 8;
  const std::vector<std::int32_t> pos0 = {0};
  cnai::ops::rope(x, pos0, p);
  CHECK(copy_of(x) == before);
  p.n_rot = 7;
  CHECK_THROWS_AS(cnai::ops::rope(x, pos0, p), cnai::Error);
  p.n_rot = 10;
  CHECK_THROWS_AS(cnai::ops::rope(x, pos0, p), cnai::Error);
  p.n_rot = 8;
  const std::vector<std::int32_t> two = {0, 1};
  CHECK_THROWS_AS(cnai::ops::rope(x, two, p), cnai::Error);
}

TEST_CASE("softmax is stable and matches the double reference") {
  for (auto [rows, n] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {3, 17}, {2, 49152}, {4, 5}}) {
    CAPTURE(n);
    Tensor x = random_tensor({rows, n}, 11, -30.0f, 30.0f);
    x.data_as<float>()[0] = 1000.0f;  // would overflow exp without the max shift
    const auto in = copy_of(x);
    std::vector<double> ref(in.size());
    for (std::int64_t r = 0; r < rows; ++r) {
      double mx = -INFINITY, sum = 0;
      for (std::int64_t i = 0; i < n; ++i) mx = std::max(mx, double(in[r * n + i]));
      for (std::int64_t i = 0; i < n; ++i) sum += std::exp(in[r * n + i] - mx);
      for (std::int64_t i = 0; i < n; ++i) ref[r * n + i] = std::exp(in[r * n + i] - mx) / sum;
    }
    cnai::ops::softmax(x);
    CHECK(max_abs_diff(ref, x) < 1e-6);
  }
  std::vector<float> row = {1.0f, 2.0f, 3.0f};
  cnai::ops::softmax_row(row.data(), 3);
  CHECK(row[2] == doctest::Approx(0.66524096).epsilon(1e-6));
}

TEST_CASE("swiglu is silu(gate) * up, also in place") {
  Tensor g = random_tensor({3, 37}, 13, -8.0f, 8.0f);
  Tensor u = random_tensor({3, 37}, 14);
  Tensor out = Tensor::empty(DType::F32, {3, 37});
  std::vector<double> ref;
  for (std::int64_t i = 0; i < g.numel(); ++i) {
    const double gv = g.data_as<float>()[i];
    ref.push_back(gv / (1.0 + std::exp(-gv)) * u.data_as<float>()[i]);
  }
  cnai::ops::swiglu(g, u, out);
  CHECK(max_abs_diff(ref, out) < 1e-5);
  cnai::ops::swiglu(g, u, g);
  CHECK(max_abs_diff(ref, g) < 1e-5);
  CHECK(cnai::ops::silu(0.0f) == 0.0f);
  Tensor bad = Tensor::empty(DType::F32, {3, 36});
  CHECK_THROWS_AS(cnai::ops::swiglu(u, bad, out), cnai::Error);
}

TEST_CASE("geglu is tanh-GELU(gate) * up, also in place and at extreme gates") {
  Tensor g = random_tensor({3, 37}, 23, -8.0f, 8.0f);
  Tensor u = random_tensor({3, 37}, 24);
  g.data_as<float>()[5] = 60.0f;   // exp overflow side: gelu(x) = x
  g.data_as<float>()[6] = -60.0f;  // and 0
  Tensor out = Tensor::empty(DType::F32, {3, 37});
  std::vector<double> ref;
  for (std::int64_t i = 0; i < g.numel(); ++i) {
    const double x = g.data_as<float>()[i];
    ref.push_back(0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x))) * u.data_as<float>()[i]);
  }
  cnai::ops::geglu(g, u, out);
  CHECK(max_abs_diff(ref, out) < 2e-5);
  cnai::ops::geglu(g, u, g);
  CHECK(max_abs_diff(ref, g) < 2e-5);
  CHECK(cnai::ops::gelu_tanh(0.0f) == 0.0f);
  CHECK(cnai::ops::gelu_tanh(1.0f) == doctest::Approx(0.8411920).epsilon(1e-6));
  Tensor bad = Tensor::empty(DType::F32, {3, 36});
  CHECK_THROWS_AS(cnai::ops::geglu(u, bad, out), cnai::Error);
}

TEST_CASE("softmax gives exactly zero to -inf logits (masked tokens)") {
  Tensor x = random_tensor({1, 100}, 15);
  float* p = x.data_as<float>();
  for (int i = 0; i < 100; i += 7) p[i] = -INFINITY;
  p[50] = -200.0f;  // far below the max: underflows to zero as in double
  cnai::ops::softmax(x);
  double total = 0;
  for (int i = 0; i < 100; ++i) {
    if (i % 7 == 0 || i == 50) CHECK(p[i] == 0.0f);
    total += p[i];
  }
  CHECK(total == doctest::Approx(1.0).epsilon(1e-5));
}
