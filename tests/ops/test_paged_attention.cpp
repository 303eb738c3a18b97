// Tests of paged attention: rows of several sequences in one call, each over
// its own scattered blocks, against a double-precision reference written here;
// the same numbers as the contiguous op for a cache in order; results that do
// not depend on where a sequence's blocks lie; argument errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/ops/attention.hpp"
#include "cnai/ops/paged_attention.hpp"
#include "ops/half.hpp"

using cnai::DType;
using cnai::Tensor;
using cnai::ops::AttentionSpan;

namespace {

// A paged cache filled with random values (F16-rounded when F16); vals holds
// what is stored, by cache row.
struct Pages {
  Tensor k, v;
  std::vector<float> k_vals, v_vals;
  std::int64_t n_kv, hd, bs;
  Pages(std::int64_t n_blocks, std::int64_t block_size, std::int64_t kv_heads, std::int64_t head_dim, DType dt,
        std::uint32_t seed)
      : n_kv(kv_heads), hd(head_dim), bs(block_size) {
    const cnai::Shape shape{n_blocks * block_size, kv_heads, head_dim};
    k = Tensor::empty(dt, shape);
    v = Tensor::empty(dt, shape);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.5f, 1.5f);
    for (auto [t, vals] : {std::pair{&k, &k_vals}, std::pair{&v, &v_vals}}) {
      for (std::int64_t i = 0; i < t->numel(); ++i) {
        float f = dist(rng);
        if (dt == DType::F16) {
          const std::uint16_t h = cnai::ops::half::from_f32(f);
          t->data_as<std::uint16_t>()[i] = h;
          f = cnai::ops::half::to_f32(h);
        } else {
          t->data_as<float>()[i] = f;
        }
        vals->push_back(f);
      }
    }
  }
  cnai::ops::PagedKv kv() const { return {&k, &v, bs}; }
  std::size_t at(const AttentionSpan& s, std::int64_t p, std::int64_t g, std::int64_t i) const {
    const std::int64_t row = std::int64_t{s.blocks[static_cast<std::size_t>(p / bs)]} * bs + p % bs;
    return static_cast<std::size_t>((row * n_kv + g) * hd + i);
  }
};

std::vector<double> reference(const std::vector<float>& q, const Pages& c, std::span<const AttentionSpan> spans,
                              std::int64_t n_head, double scale) {
  std::vector<double> out(q.size(), 0.0);
  const std::int64_t hd = c.hd, ratio = n_head / c.n_kv;
  for (std::size_t t = 0; t < spans.size(); ++t) {
    const AttentionSpan& s = spans[t];
    for (std::int64_t h = 0; h < n_head; ++h) {
      const float* qr = q.data() + (static_cast<std::int64_t>(t) * n_head + h) * hd;
      std::vector<double> w;
      double mx = -INFINITY, sum = 0;
      for (std::int64_t p = s.first; p <= s.last; ++p) {
        double d = 0;
        for (std::int64_t i = 0; i < hd; ++i) d += double(qr[i]) * c.k_vals[c.at(s, p, h / ratio, i)];
        w.push_back(d * scale);
        mx = std::max(mx, w.back());
      }
      for (auto& x : w) sum += (x = std::exp(x - mx));
      for (std::int64_t p = s.first; p <= s.last; ++p)
        for (std::int64_t i = 0; i < hd; ++i)
          out[(static_cast<std::int64_t>(t) * n_head + h) * hd + i] +=
              w[static_cast<std::size_t>(p - s.first)] / sum * c.v_vals[c.at(s, p, h / ratio, i)];
    }
  }
  return out;
}

Tensor random_q(std::int64_t t, std::int64_t n_head, std::int64_t hd, std::uint32_t seed) {
  Tensor q = Tensor::empty(DType::F32, {t, n_head, hd});
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (std::int64_t i = 0; i < q.numel(); ++i) q.data_as<float>()[i] = dist(rng);
  return q;
}

std::vector<float> values(const Tensor& t) { return {t.data_as<float>(), t.data_as<float>() + t.numel()}; }

// A block table of n blocks drawn without repetition from [0, n_blocks).
std::vector<std::int32_t> scattered(std::int64_t n, std::int64_t n_blocks, std::uint32_t seed) {
  std::vector<std::int32_t> all(static_cast<std::size_t>(n_blocks));
  std::iota(all.begin(), all.end(), 0);
  std::shuffle(all.begin(), all.end(), std::mt19937(seed));
  all.resize(static_cast<std::size_t>(n));
  return all;
}

}  // namespace

TEST_CASE("paged attention over several sequences matches the double reference") {
  cnai::ThreadPool pool(3);
  struct Case {
    std::int64_t n_head, n_kv, hd, bs;
  };
  for (DType dt : {DType::F32, DType::F16}) {
    for (const Case& c : {Case{9, 3, 64, 16}, Case{8, 2, 80, 8}, Case{6, 6, 32, 4}, Case{32, 2, 64, 16}}) {
      CAPTURE(c.n_head);
      CAPTURE(c.hd);
      CAPTURE(int(dt));
      const Pages pages(64, c.bs, c.n_kv, c.hd, dt, std::uint32_t(c.hd));
      // Sequence A: a prompt chunk at 30..35; B: one decode row at 2; C: a
      // sliding window over 70 positions ending at 90.
      const auto a = scattered(35 / c.bs + 1, 64, 1), b = scattered(1, 64, 2), cc = scattered(90 / c.bs + 1, 64, 3);
      std::vector<AttentionSpan> spans;
      for (std::int64_t p = 30; p < 36; ++p) spans.push_back({a, 0, p});
      spans.push_back({b, 0, 2});
      spans.push_back({cc, 21, 90});
      // Row counts are per sequence; a block may be shared (prefix sharing).
      const auto t = static_cast<std::int64_t>(spans.size());
      const Tensor q = random_q(t, c.n_head, c.hd, 7);
      Tensor out = Tensor::empty(DType::F32, {t, c.n_head, c.hd});
      cnai::ops::paged_attention(q, pages.kv(), spans, 0.125f, out, pool);
      const auto ref = reference(values(q), pages, spans, c.n_head, 0.125);
      double worst = 0;
      for (std::size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(ref[i] - out.data_as<float>()[i]));
      CHECK(worst < 2e-5);
    }
  }
}

TEST_CASE("paged attention over blocks in order gives the contiguous op's numbers exactly") {
  cnai::ThreadPool pool(2);
  for (DType dt : {DType::F32, DType::F16}) {
    const Pages pages(16, 16, 3, 64, dt, 11);
    std::vector<std::int32_t> in_order(16);
    std::iota(in_order.begin(), in_order.end(), 0);
    // A 20-token prefill after 100 cached positions, and one decode row.
    for (auto [t_n, pos0] : {std::pair<std::int64_t, std::int64_t>{20, 100}, {1, 200}}) {
      const Tensor q = random_q(t_n, 9, 64, 5);
      std::vector<AttentionSpan> spans;
      for (std::int64_t t = 0; t < t_n; ++t) spans.push_back({in_order, 0, pos0 + t});
      Tensor paged = Tensor::empty(DType::F32, {t_n, 9, 64}), contiguous = Tensor::empty(DType::F32, {t_n, 9, 64});
      cnai::ops::paged_attention(q, pages.kv(), spans, 0.125f, paged, pool);
      cnai::ops::attention(q, pages.k, pages.v, pos0, 0.125f, contiguous, pool);
      CHECK(values(paged) == values(contiguous));
    }
  }
}

TEST_CASE("a sequence's attention does not depend on where its blocks lie") {
  cnai::ThreadPool pool(2);
  for (DType dt : {DType::F32, DType::F16}) {
    // The same 300 positions stored twice: blocks 0..18 in order, and blocks
    // 19..37 in shuffled order (some adjacent, some not).
    Pages pages(40, 16, 3, 64, dt, 3);
    std::vector<std::int32_t> first(19), second = scattered(19, 19, 9);
    std::iota(first.begin(), first.end(), 0);
    for (auto& b : second) b += 19;
    const std::size_t elem = dt == DType::F16 ? 2 : 4, row = 3 * 64 * elem;
    for (std::int64_t p = 0; p < 19 * 16; ++p) {
      const std::size_t from = pages.at({first, 0, 0}, p, 0, 0) * elem, to = pages.at({second, 0, 0}, p, 0, 0) * elem;
      for (Tensor* t : {&pages.k, &pages.v})
        std::copy_n(t->data_as<std::uint8_t>() + from, row, t->data_as<std::uint8_t>() + to);
    }
    // Prefill rows, long decode rows (split over threads), sliding windows.
    for (auto [t_n, first_pos, window] : {std::tuple<std::int64_t, std::int64_t, std::int64_t>{8, 40, 0},
                                          {1, 299, 0}, {1, 263, 0}, {5, 290, 37}, {1, 299, 250}}) {
      CAPTURE(t_n);
      CAPTURE(first_pos);
      CAPTURE(window);
      const Tensor q = random_q(t_n, 9, 64, 13);
      std::vector<AttentionSpan> a, b;
      for (std::int64_t t = 0; t < t_n; ++t) {
        const std::int64_t last = first_pos + t, lo = window ? std::max<std::int64_t>(0, last - window + 1) : 0;
        a.push_back({first, lo, last});
        b.push_back({second, lo, last});
      }
      Tensor out_a = Tensor::empty(DType::F32, {t_n, 9, 64}), out_b = Tensor::empty(DType::F32, {t_n, 9, 64});
      cnai::ops::paged_attention(q, pages.kv(), a, 0.125f, out_a, pool);
      cnai::ops::paged_attention(q, pages.kv(), b, 0.125f, out_b, pool);
      CHECK(values(out_a) == values(out_b));
    }
  }
}

TEST_CASE("paged attention rejects spans outside their tables and blocks outside the cache") {
  cnai::ThreadPool pool(1);
  const Pages pages(4, 16, 3, 64, DType::F32, 1);
  const Tensor q = random_q(1, 9, 64, 1);
  Tensor out = Tensor::empty(DType::F32, {1, 9, 64});
  const std::vector<std::int32_t> two = {1, 3}, bad = {1, 4};
  auto message_of = [&](std::vector<AttentionSpan> spans) {
    try {
      cnai::ops::paged_attention(q, pages.kv(), spans, 0.125f, out, pool);
    } catch (const cnai::Error& e) {
      CHECK(e.code() == cnai::ErrorCode::invalid_argument);
      return std::string(e.what());
    }
    FAIL("expected an error");
    return std::string();
  };
  CHECK(message_of({{two, 0, 32}}).find("holds 32 positions") != std::string::npos);
  CHECK(message_of({{two, 5, 4}}).find("positions 5 .. 4") != std::string::npos);
  CHECK(message_of({{bad, 0, 20}}).find("block 4 is outside") != std::string::npos);
  CHECK(message_of({}).find("0 spans for 1 query rows") != std::string::npos);
  // Block 4 exists only in a table's tail that the span does not reach.
  cnai::ops::paged_attention(q, pages.kv(), std::vector<AttentionSpan>{{bad, 0, 15}}, 0.125f, out, pool);
  const cnai::ops::PagedKv odd{&pages.k, &pages.v, 48};  // 64 rows are not whole 48-row blocks
  CHECK_THROWS_AS(cnai::ops::paged_attention(q, odd, std::vector<AttentionSpan>{{two, 0, 3}}, 0.125f, out, pool),
                  cnai::Error);
}

#include "ops/row_kernels.hpp"

TEST_CASE("each ISA's mix_acc continues a mix exactly across pieces of the rows") {
  namespace cpu = cnai::ops::cpu;
  std::vector<const cpu::RowKernels*> tables = {&cpu::row_kernels_generic()};
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
    tables.push_back(&cpu::row_kernels_avx2());
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    tables.push_back(&cpu::row_kernels_avx512());
  std::mt19937 rng(8);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  for (const auto* kt : tables) {
    for (auto [hd, nq] : {std::pair<std::int64_t, std::int64_t>{5, 1}, {64, 3}, {80, 2}, {64, 6}}) {
      CAPTURE(kt->isa);
      CAPTURE(hd);
      CAPTURE(nq);
      const std::int64_t n = 48, stride = hd + 3, cut = 16;
      const auto sz = [](std::int64_t v) { return static_cast<std::size_t>(v); };
      std::vector<float> vf(sz(n * stride)), p(sz(nq * n));
      std::vector<std::uint16_t> vh(vf.size());
      for (std::size_t i = 0; i < vf.size(); ++i) {
        vh[i] = cnai::ops::half::from_f32(dist(rng));
        vf[i] = cnai::ops::half::to_f32(vh[i]);
      }
      for (auto& x : p) x = dist(rng);
      // The weights of rows [0, cut) and [cut, n) as separate [nq x len] pieces.
      std::vector<float> p0, p1;
      for (std::int64_t r = 0; r < nq; ++r) {
        p0.insert(p0.end(), p.begin() + r * n, p.begin() + r * n + cut);
        p1.insert(p1.end(), p.begin() + r * n + cut, p.begin() + (r + 1) * n);
      }
      std::vector<float> whole32(sz(nq * hd)), whole16(sz(nq * hd)), split32(sz(nq * hd), 0.0f), split16(sz(nq * hd), 0.0f);
      kt->mix_f32(p.data(), nq, vf.data(), stride, n, hd, whole32.data());
      kt->mix_f16(p.data(), nq, vh.data(), stride, n, hd, whole16.data());
      kt->mix_acc_f32(p0.data(), nq, vf.data(), stride, cut, hd, split32.data());
      kt->mix_acc_f32(p1.data(), nq, vf.data() + cut * stride, stride, n - cut, hd, split32.data());
      kt->mix_acc_f16(p0.data(), nq, vh.data(), stride, cut, hd, split16.data());
      kt->mix_acc_f16(p1.data(), nq, vh.data() + cut * stride, stride, n - cut, hd, split16.data());
      CHECK(split32 == whole32);
      CHECK(split16 == whole16);
    }
  }
}
