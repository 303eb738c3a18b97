// Tests of causal GQA attention over F32 and F16 KV caches against a plain
// double-precision reference written here.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/ops/attention.hpp"
#include "ops/half.hpp"

using cnai::DType;
using cnai::Tensor;

namespace {

struct Cache {
  Tensor k, v;
  std::vector<float> k_vals, v_vals;  // the values as stored (after F16 rounding)
};

Cache make_cache(std::int64_t n_ctx, std::int64_t n_kv, std::int64_t hd, DType dt,
                 std::uint32_t seed) {
  Cache c;
  c.k = Tensor::empty(dt, {n_ctx, n_kv, hd});
  c.v = Tensor::empty(dt, {n_ctx, n_kv, hd});
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.5f, 1.5f);
  for (auto* pair : {&c.k, &c.v}) {
    auto& vals = pair == &c.k ? c.k_vals : c.v_vals;
    for (std::int64_t i = 0; i < pair->numel(); ++i) {
      float f = dist(rng);
      if (dt == DType::F16) {
        const std::uint16_t h = cnai::ops::half::from_f32(f);
        pair->data_as<std::uint16_t>()[i] = h;
        f = cnai::ops::half::to_f32(h);
      } else {
        pair->data_as<float>()[i] = f;
      }
      vals.push_back(f);
    }
  }
  return c;
}

std::vector<double> attention_ref(const std::vector<float>& q, const Cache& c, std::int64_t t_n,
                                  std::int64_t n_head, std::int64_t n_kv, std::int64_t hd,
                                  std::int64_t pos0, double scale, std::int64_t window = 0) {
  std::vector<double> out(q.size(), 0.0);
  for (std::int64_t t = 0; t < t_n; ++t) {
    for (std::int64_t h = 0; h < n_head; ++h) {
      const std::int64_t g = h / (n_head / n_kv), n = pos0 + t + 1;
      const std::int64_t lo = window > 0 ? std::max<std::int64_t>(0, n - window) : 0;
      const float* qr = q.data() + (t * n_head + h) * hd;
      std::vector<double> s(static_cast<std::size_t>(n));
      double mx = -INFINITY, sum = 0;
      for (std::int64_t j = lo; j < n; ++j) {
        double d = 0;
        for (std::int64_t i = 0; i < hd; ++i) d += double(qr[i]) * c.k_vals[(j * n_kv + g) * hd + i];
        s[j] = d * scale;
        mx = std::max(mx, s[j]);
      }
      for (std::int64_t j = lo; j < n; ++j) sum += (s[j] = std::exp(s[j] - mx));
      for (std::int64_t j = lo; j < n; ++j) {
        for (std::int64_t i = 0; i < hd; ++i) {
          out[(t * n_head + h) * hd + i] += s[j] / sum * c.v_vals[(j * n_kv + g) * hd + i];
        }
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("attention matches the double reference across GQA ratios, caches and positions") {
  cnai::ThreadPool pool(3);
  struct Case {
    std::int64_t t, n_head, n_kv, hd, pos0, n_ctx;
  };
  const Case cases[] = {
      {1, 9, 3, 64, 0, 4},      {1, 9, 3, 64, 300, 512},  {7, 9, 3, 64, 20, 40},
      {7, 4, 4, 80, 5, 12},     {1, 8, 2, 80, 1000, 1001}, {3, 6, 2, 64, 0, 3},
      {2, 3, 1, 5, 9, 16},      {2, 16, 2, 64, 50, 60},
      {1, 9, 3, 64, 700, 800},  // long decode: positions split across threads
  };
  for (DType dt : {DType::F32, DType::F16}) {
    for (const Case& c : cases) {
      CAPTURE(c.t);
      CAPTURE(c.n_head);
      CAPTURE(c.n_kv);
      CAPTURE(c.hd);
      CAPTURE(c.pos0);
      CAPTURE(int(dt));
      Cache cache = make_cache(c.n_ctx, c.n_kv, c.hd, dt, std::uint32_t(c.hd + c.pos0));
      Tensor q = Tensor::empty(DType::F32, {c.t, c.n_head, c.hd});
      std::mt19937 rng(42);
      std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
      for (std::int64_t i = 0; i < q.numel(); ++i) q.data_as<float>()[i] = dist(rng);
      const std::vector<float> qv(q.data_as<float>(), q.data_as<float>() + q.numel());
      Tensor out = Tensor::empty(DType::F32, {c.t, c.n_head, c.hd});
      const float scale = 1.0f / std::sqrt(float(c.hd));
      cnai::ops::attention(q, cache.k, cache.v, c.pos0, scale, out, pool);
      const auto ref = attention_ref(qv, cache, c.t, c.n_head, c.n_kv, c.hd, c.pos0, scale);
      double worst = 0;
      for (std::size_t i = 0; i < ref.size(); ++i) {
        worst = std::max(worst, std::abs(ref[i] - out.data_as<float>()[i]));
      }
      CHECK(worst < 2e-5);
    }
  }
}

TEST_CASE("attention ignores cache rows past the causal limit") {
  cnai::ThreadPool pool(2);
  Cache a = make_cache(16, 1, 8, DType::F32, 5);
  Tensor q = Tensor::empty(DType::F32, {2, 2, 8});
  for (std::int64_t i = 0; i < q.numel(); ++i) q.data_as<float>()[i] = float(i % 5) * 0.3f;
  Tensor out1 = Tensor::empty(DType::F32, {2, 2, 8});
  Tensor out2 = Tensor::empty(DType::F32, {2, 2, 8});
  cnai::ops::attention(q, a.k, a.v, 3, 0.35f, out1, pool);
  for (std::int64_t i = 5 * 8; i < a.k.numel(); ++i) {  // rows 5.. are in the future
    a.k.data_as<float>()[i] = 1e6f;
    a.v.data_as<float>()[i] = NAN;
  }
  cnai::ops::attention(q, a.k, a.v, 3, 0.35f, out2, pool);
  for (std::int64_t i = 0; i < out1.numel(); ++i) CHECK(out1.data_as<float>()[i] == out2.data_as<float>()[i]);
}

TEST_CASE("attention rejects inconsistent shapes with the shapes in the message") {
  cnai::ThreadPool pool(1);
  Cache c = make_cache(8, 3, 64, DType::F32, 1);
  Tensor q = Tensor::zeros(DType::F32, {1, 8, 64});  // 8 heads over 3 kv heads
  Tensor out = Tensor::empty(DType::F32, {1, 8, 64});
  try {
    cnai::ops::attention(q, c.k, c.v, 0, 0.125f, out, pool);
    FAIL("expected an error");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == cnai::ErrorCode::invalid_argument);
    CHECK(std::string(e.what()).find("[8, 3, 64]") != std::string::npos);
  }
  Tensor q9 = Tensor::zeros(DType::F32, {2, 9, 64});
  Tensor out9 = Tensor::empty(DType::F32, {2, 9, 64});
  CHECK_THROWS_AS(cnai::ops::attention(q9, c.k, c.v, 7, 0.125f, out9, pool), cnai::Error);  // overflow
  Tensor q9b = Tensor::zeros(DType::F32, {1, 9, 32});
  Tensor out9b = Tensor::empty(DType::F32, {1, 9, 32});
  CHECK_THROWS_AS(cnai::ops::attention(q9b, c.k, c.v, 0, 0.125f, out9b, pool), cnai::Error);
  Tensor q8 = Tensor::zeros(DType::Q8_0, {1, 9, 64});
  CHECK_THROWS_AS(cnai::ops::attention(q8, c.k, c.v, 0, 0.125f, out9b, pool), cnai::Error);
}

#include "ops/row_kernels.hpp"

TEST_CASE("each ISA's row kernels match double references at awkward widths") {
  namespace cpu = cnai::ops::cpu;
  std::vector<const cpu::RowKernels*> tables = {&cpu::row_kernels_generic()};
  for (cnai::CpuIsa isa : {cnai::CpuIsa::avx2, cnai::CpuIsa::avx512}) {  // those built in and run by this CPU
    if (cnai::cpu_isa_available(isa)) tables.push_back(&cpu::row_kernels_for(isa));
  }
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  for (const auto* kt : tables) {
    for (auto [hd, nq] : {std::pair<std::int64_t, std::int64_t>{5, 1}, {19, 2}, {64, 3}, {80, 4},
                          {136, 6}, {64, 6}, {64, 1}}) {
      CAPTURE(kt->isa);
      CAPTURE(hd);
      CAPTURE(nq);
      // nq queries of one GQA group; 70 rows cross the kernels' row blocks.
      const std::int64_t n = 70, stride = hd + 3;
      const auto sz = [](std::int64_t v) { return static_cast<std::size_t>(v); };
      std::vector<float> q(sz(nq * hd)), kf(sz(n * stride)), p(sz(nq * n));
      std::vector<std::uint16_t> kh(kf.size());
      for (auto& x : q) x = dist(rng);
      for (std::size_t i = 0; i < kf.size(); ++i) {
        kh[i] = cnai::ops::half::from_f32(dist(rng));
        kf[i] = cnai::ops::half::to_f32(kh[i]);  // same values in both layouts
      }
      for (auto& x : p) x = dist(rng);
      std::vector<float> s32(sz(nq * n)), s16(sz(nq * n)), o32(sz(nq * hd)), o16(sz(nq * hd));
      kt->scores_f32(q.data(), nq, kf.data(), stride, n, hd, 0.5f, s32.data());
      kt->scores_f16(q.data(), nq, kh.data(), stride, n, hd, 0.5f, s16.data());
      kt->mix_f32(p.data(), nq, kf.data(), stride, n, hd, o32.data());
      kt->mix_f16(p.data(), nq, kh.data(), stride, n, hd, o16.data());
      for (std::int64_t r = 0; r < nq; ++r) {
        for (std::int64_t j = 0; j < n; ++j) {
          double d = 0;
          for (std::int64_t i = 0; i < hd; ++i) d += double(q[sz(r * hd + i)]) * kf[sz(j * stride + i)];
          CHECK(std::abs(s32[sz(r * n + j)] - 0.5 * d) < 1e-4);
          CHECK(std::abs(s16[sz(r * n + j)] - 0.5 * d) < 1e-4);
        }
        for (std::int64_t i = 0; i < hd; ++i) {
          double m = 0;
          for (std::int64_t j = 0; j < n; ++j) m += double(p[sz(r * n + j)]) * kf[sz(j * stride + i)];
          CHECK(std::abs(o32[sz(r * hd + i)] - m) < 1e-4);
          CHECK(std::abs(o16[sz(r * hd + i)] - m) < 1e-4);
        }
      }
      std::vector<float> e(static_cast<std::size_t>(hd)), g(static_cast<std::size_t>(hd)), u(static_cast<std::size_t>(hd)), o(static_cast<std::size_t>(hd));
      for (std::size_t i = 0; i < e.size(); ++i) {
        e[i] = dist(rng) * 40.0f;  // exp over a wide range, incl. large negatives
        g[i] = dist(rng) * 6.0f;
        u[i] = dist(rng);
      }
      const std::vector<float> e_in = e;
      const float sum = kt->exp_shifted(e.data(), hd, 3.0f);
      double ref_sum = 0;
      for (std::size_t i = 0; i < e.size(); ++i) {
        const double r = std::exp(double(e_in[i]) - 3.0);
        ref_sum += r;
        CHECK(std::abs(e[i] - r) <= 2e-6 * r + 1e-30);
      }
      CHECK(std::abs(sum - ref_sum) <= 1e-5 * ref_sum);
      kt->silu_mul(g.data(), u.data(), o.data(), hd);
      for (std::size_t i = 0; i < o.size(); ++i) {
        CHECK(std::abs(o[i] - g[i] / (1.0 + std::exp(-double(g[i]))) * u[i]) < 1e-5);
      }
    }
  }
}

TEST_CASE("each ISA's row max finds the maximum at any position") {
  namespace cpu = cnai::ops::cpu;
  const auto& best = cpu::row_kernels();
  for (const auto* kt : {&cpu::row_kernels_generic(), &best}) {
    for (std::int64_t n : {1, 7, 16, 33, 100}) {
      for (std::int64_t at = 0; at < n; at += 3) {
        std::vector<float> v(static_cast<std::size_t>(n), -5.0f);
        v[static_cast<std::size_t>(at)] = 2.5f;
        CHECK(kt->max(v.data(), n) == 2.5f);
      }
    }
  }
}

TEST_CASE("sliding-window attention over a ring cache matches the windowed reference") {
  cnai::ThreadPool pool(2);
  struct Case {
    std::int64_t t, n_head, n_kv, hd, pos0, window, cap;
  };
  const Case cases[] = {
      {1, 4, 1, 64, 10, 8, 8},      // decode, the window wraps around the ring
      {1, 4, 1, 64, 3, 8, 8},       // decode before the window fills
      {5, 4, 2, 32, 20, 8, 12},     // a batch: window + T - 1 rows in use
      {7, 4, 4, 16, 0, 4, 10},      // prefill from 0 with a window shorter than the batch
      {3, 2, 1, 16, 5, 4, 64},      // a ring larger than every position: no wrap
      {1, 9, 3, 64, 900, 512, 512}, // long decode, positions split across threads, wrapped
  };
  for (DType dt : {DType::F32, DType::F16})
    for (const Case& c : cases) {
      CAPTURE(c.t);
      CAPTURE(c.pos0);
      CAPTURE(c.window);
      CAPTURE(c.cap);
      const std::int64_t n_pos = c.pos0 + c.t;
      const Cache full = make_cache(n_pos, c.n_kv, c.hd, dt, std::uint32_t(c.pos0 + 7));
      // The ring holds only the positions the batch reads; every other row is poison.
      Cache ring = make_cache(c.cap, c.n_kv, c.hd, dt, 1);
      const std::int64_t row = c.n_kv * c.hd, esize = dt == DType::F16 ? 2 : 4;
      for (std::int64_t i = 0; i < c.cap * row; ++i) {
        if (dt == DType::F16) {
          ring.k.data_as<std::uint16_t>()[i] = ring.v.data_as<std::uint16_t>()[i] = 0x7E00;  // NaN
        } else {
          ring.k.data_as<float>()[i] = ring.v.data_as<float>()[i] = NAN;
        }
      }
      for (std::int64_t p = std::max<std::int64_t>(0, c.pos0 - c.window + 1); p < n_pos; ++p) {
        std::memcpy(ring.k.row_ptr((p % c.cap) * c.n_kv), full.k.row_ptr(p * c.n_kv), static_cast<std::size_t>(row * esize));
        std::memcpy(ring.v.row_ptr((p % c.cap) * c.n_kv), full.v.row_ptr(p * c.n_kv), static_cast<std::size_t>(row * esize));
      }
      Tensor q = Tensor::empty(DType::F32, {c.t, c.n_head, c.hd});
      std::mt19937 rng(3);
      std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
      for (std::int64_t i = 0; i < q.numel(); ++i) q.data_as<float>()[i] = dist(rng);
      const std::vector<float> qv(q.data_as<float>(), q.data_as<float>() + q.numel());
      Tensor out = Tensor::empty(DType::F32, {c.t, c.n_head, c.hd});
      const float scale = 1.0f / std::sqrt(float(c.hd));
      cnai::ops::attention(q, ring.k, ring.v, c.pos0, scale, out, pool, c.window);
      const auto ref = attention_ref(qv, full, c.t, c.n_head, c.n_kv, c.hd, c.pos0, scale, c.window);
      double worst = 0;
      for (std::size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(ref[i] - out.data_as<float>()[i]));
      CHECK(worst < 2e-5);
    }
}

TEST_CASE("sliding-window attention refuses a batch whose window no longer fits the ring") {
  cnai::ThreadPool pool(1);
  const Cache ring = make_cache(8, 1, 16, DType::F32, 2);
  Tensor q = Tensor::zeros(DType::F32, {2, 1, 16}), out = Tensor::zeros(DType::F32, {2, 1, 16});
  // Positions 20, 21 with window 8 read 13 .. 21: 9 rows, one more than the ring has.
  CHECK_THROWS_AS(cnai::ops::attention(q, ring.k, ring.v, 20, 0.25f, out, pool, 8), cnai::Error);
  Tensor q1 = Tensor::zeros(DType::F32, {1, 1, 16}), out1 = Tensor::zeros(DType::F32, {1, 1, 16});
  cnai::ops::attention(q1, ring.k, ring.v, 20, 0.25f, out1, pool, 8);  // one token fits
  CHECK(std::isfinite(out1.data_as<float>()[0]));
}
