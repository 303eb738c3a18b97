// Sampler behaviour against independent computations: greedy is argmax, bias
// bans, top-k/top-p/min-p keep exactly the hand-computed sets, draws follow
// softmax(logits / T), seeds reproduce, penalties follow their formulas, and
// invalid configurations are rejected.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/engine/sampler.hpp"
#include "engine/sampler_filters.hpp"

using cnai::Sampler;
using cnai::SamplerConfig;

namespace {

std::vector<float> normal_logits(int n, std::uint64_t seed, float sd = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, sd);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

int reference_argmax(const std::vector<float>& v) {
  int best = 0;
  for (int i = 1; i < static_cast<int>(v.size()); ++i) {
    if (v[static_cast<std::size_t>(i)] > v[static_cast<std::size_t>(best)]) best = i;
  }
  return best;
}

std::vector<double> softmax(const std::vector<float>& logits, double t) {
  double m = -std::numeric_limits<double>::infinity();
  for (float l : logits) m = std::max(m, static_cast<double>(l));
  std::vector<double> p(logits.size());
  double z = 0.0;
  for (std::size_t i = 0; i < logits.size(); ++i) z += p[i] = std::exp((logits[i] - m) / t);
  for (auto& x : p) x /= z;
  return p;
}

// Relative frequencies of `draws` samples from one fixed row.
std::vector<double> frequencies(Sampler& s, const std::vector<float>& logits, int draws) {
  std::vector<double> f(logits.size(), 0.0);
  for (int i = 0; i < draws; ++i) f[static_cast<std::size_t>(s.sample(logits))] += 1.0 / draws;
  return f;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

std::vector<float> logs(const std::vector<double>& probs) {
  std::vector<float> v;
  for (double p : probs) v.push_back(static_cast<float>(std::log(p)));
  return v;
}

SamplerConfig greedy_config() {
  SamplerConfig c;
  c.temperature = 0.0f;
  return c;
}

}  // namespace

TEST_CASE("greedy returns the argmax, lowest id on ties, without touching the logits") {
  Sampler s(greedy_config(), 49152);
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const auto logits = normal_logits(49152, seed, 3.0f);
    const auto copy = logits;
    CHECK(s.sample(logits) == reference_argmax(logits));
    CHECK(logits == copy);
  }
  std::vector<float> ties(100, 0.0f);
  ties[37] = ties[80] = 5.0f;
  Sampler small(greedy_config(), 100);
  CHECK(small.sample(ties) == 37);
  SamplerConfig negative = greedy_config();
  negative.temperature = -1.0f;
  Sampler s2(negative, 100);
  CHECK(s2.sample(ties) == 37);
}

TEST_CASE("NaN logits count as -inf; +inf wins; all banned is an error") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  Sampler greedy(greedy_config(), 4);
  CHECK(greedy.sample(std::vector<float>{nan, 1.0f, 2.0f, nan}) == 2);
  SamplerConfig hot;
  hot.seed = 3;
  Sampler s(hot, 4);
  for (int i = 0; i < 200; ++i) CHECK(s.sample(std::vector<float>{nan, 1.0f, nan, 0.5f}) % 2 == 1);
  for (int i = 0; i < 50; ++i) CHECK(s.sample(std::vector<float>{1.0f, inf, 2.0f, 3.0f}) == 1);
  CHECK_THROWS_AS(s.sample(std::vector<float>{nan, nan, -inf, nan}), cnai::Error);
  CHECK_THROWS_AS(greedy.sample(std::vector<float>{nan, nan, nan, nan}), cnai::Error);
  CHECK_THROWS_AS(greedy.sample(std::vector<float>{1.0f, 2.0f}), cnai::Error);  // wrong size
}

TEST_CASE("logit bias: -100 bans the token, other values shift it") {
  SamplerConfig c = greedy_config();
  c.logit_bias = {{2, -100.0f}, {3, 4.0f}};
  Sampler greedy(c, 5);
  CHECK(greedy.sample(std::vector<float>{0.0f, 1.0f, 9.0f, -3.0f, 2.0f}) == 4);  // 2 banned, -3 + 4 < 2
  CHECK(greedy.sample(std::vector<float>{0.0f, 1.0f, 9.0f, 0.0f, 2.0f}) == 3);   // 0 + 4 > 2
  c.temperature = 1.0f;
  c.logit_bias = {{0, -150.0f}};
  Sampler hot(c, 3);
  for (int i = 0; i < 2000; ++i) CHECK(hot.sample(std::vector<float>{10.0f, 0.0f, 0.0f}) != 0);
  c.logit_bias = {{0, -100.0f}, {1, -100.0f}, {2, -1000.0f}};
  Sampler all_banned(c, 3);
  try {
    all_banned.sample(std::vector<float>{1.0f, 2.0f, 3.0f});
    FAIL("expected an error");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == cnai::ErrorCode::invalid_argument);
  }
}

TEST_CASE("top_k = 1 is greedy at any temperature") {
  for (float t : {0.05f, 1.0f, 7.0f, 1000.0f}) {
    SamplerConfig c;
    c.temperature = t;
    c.top_k = 1;
    c.seed = 11;
    Sampler s(c, 49152);
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
      const auto logits = normal_logits(49152, seed * 7 + 1);
      CHECK(s.sample(logits) == reference_argmax(logits));
    }
  }
}

TEST_CASE("top_k = k draws only the k best tokens, and all of them") {
  const auto logits = normal_logits(1000, 5);
  std::vector<int> order(1000);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return logits[static_cast<std::size_t>(a)] > logits[static_cast<std::size_t>(b)]; });
  const std::set<int> best(order.begin(), order.begin() + 8);
  SamplerConfig c;
  c.temperature = 3.0f;
  c.top_k = 8;
  c.seed = 9;
  Sampler s(c, 1000);
  std::set<int> seen;
  for (int i = 0; i < 5000; ++i) {
    const int t = s.sample(logits);
    REQUIRE(best.count(t) == 1);
    seen.insert(t);
  }
  CHECK(seen == best);
}

TEST_CASE("empirical frequencies match softmax(logits / T)") {
  const std::vector<float> logits{1.0f, 0.2f, -0.5f, 2.0f, 0.0f, 1.5f};
  for (float t : {0.7f, 1.0f, 1.8f}) {
    SamplerConfig c;
    c.temperature = t;
    c.seed = 1234;
    Sampler s(c, 6);
    const auto f = frequencies(s, logits, 20000);
    CHECK(max_abs_diff(f, softmax(logits, t)) < 0.015);
  }
  // top_k = 3: the softmax over the three best, the rest never drawn.
  SamplerConfig c;
  c.temperature = 1.5f;
  c.top_k = 3;
  c.seed = 77;
  Sampler s(c, 6);
  const auto f = frequencies(s, logits, 20000);
  const auto p3 = softmax({logits[0], logits[3], logits[5]}, 1.5);
  CHECK(f[1] == 0.0);
  CHECK(f[2] == 0.0);
  CHECK(f[4] == 0.0);
  CHECK(max_abs_diff({f[0], f[3], f[5]}, p3) < 0.015);
}

TEST_CASE("top_p keeps the smallest nucleus") {
  // Probabilities 0.4, 0.3, 0.15, 0.1, 0.05 in shuffled order; top_p 0.8 needs
  // 0.4 + 0.3 + 0.15 = 0.85 (0.7 is not enough).
  const auto logits = logs({0.1, 0.4, 0.05, 0.15, 0.3});
  SamplerConfig c;
  c.top_p = 0.8f;
  c.seed = 5;
  Sampler s(c, 5);
  const auto f = frequencies(s, logits, 20000);
  CHECK(f[0] == 0.0);
  CHECK(f[2] == 0.0);
  CHECK(max_abs_diff({f[1], f[4], f[3]}, {0.4 / 0.85, 0.3 / 0.85, 0.15 / 0.85}) < 0.015);

  // Many candidates (bucketed path): three large tokens and 4997 equal small ones.
  std::vector<float> big(5000, 0.0f);
  big[4000] = 10.0f, big[17] = 9.5f, big[4500] = 9.0f;
  const double total = std::exp(10.0) + std::exp(9.5) + std::exp(9.0) + 4997.0;
  SamplerConfig c2;
  c2.top_p = 0.8f;  // 0.454 + 0.276 < 0.8 <= + 0.167
  c2.seed = 6;
  Sampler s2(c2, 5000);
  for (int i = 0; i < 3000; ++i) {
    const int t = s2.sample(big);
    REQUIRE((t == 4000 || t == 17 || t == 4500));
  }
  // top_p 0.95 adds the lowest-id small tokens until the mass reaches 0.95.
  const double needed = 0.95 * total - (std::exp(10.0) + std::exp(9.5) + std::exp(9.0));
  const int small_kept = static_cast<int>(std::ceil(needed));
  c2.top_p = 0.95f;
  Sampler s3(c2, 5000);
  int max_small = -1;
  for (int i = 0; i < 20000; ++i) {
    const int t = s3.sample(big);
    if (t != 4000 && t != 4500) max_small = std::max(max_small, t);
  }
  // Small ids kept: 0..small_kept without 17, which is large (+1 for summation order).
  CHECK(max_small <= small_kept + 1);
  CHECK(max_small >= small_kept - 40);  // the highest kept ids are drawn too
}

TEST_CASE("nucleus equals a full-sort reference on a 49152 vocabulary") {
  for (float top_p : {0.1f, 0.5f, 0.9f, 0.95f, 0.999f}) {
    const auto s = normal_logits(49152, 42 + static_cast<std::uint64_t>(top_p * 1000), 2.0f);
    const float m = *std::max_element(s.begin(), s.end());
    std::vector<float> w(s.size());
    double total = 0.0;
    for (std::size_t i = 0; i < s.size(); ++i) total += w[i] = std::exp(s[i] - m);
    std::vector<std::int32_t> ids(s.size());
    std::iota(ids.begin(), ids.end(), 0);
    std::vector<std::int32_t> ref = ids;
    std::sort(ref.begin(), ref.end(), [&](int a, int b) { return w[static_cast<std::size_t>(a)] > w[static_cast<std::size_t>(b)]; });
    std::size_t ref_size = 0;
    for (double cum = 0.0; cum < top_p * total;) cum += w[static_cast<std::size_t>(ref[ref_size++])];
    std::vector<double> mass(1024);
    std::vector<std::int32_t> tail(s.size()), out(s.size());
    const std::size_t n = cnai::engine::nucleus(ids, s, w, m, top_p, mass, tail, out);
    CHECK(std::abs(static_cast<long>(n) - static_cast<long>(ref_size)) <= 1);  // summation order
    std::set<std::int32_t> got(out.begin(), out.begin() + static_cast<long>(n));
    const std::size_t common = std::min(n, ref_size);
    for (std::size_t i = 0; i + 1 < common; ++i) REQUIRE(got.count(ref[i]) == 1);
    // The whole-vocabulary variant keeps exactly the same tokens.
    std::vector<float> dense_w = w;
    std::vector<std::uint16_t> bucket(s.size());
    cnai::engine::nucleus_dense(s, dense_w, m, top_p, mass, bucket, tail);
    std::set<std::int32_t> dense;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (dense_w[i] > 0.0f) {
        dense.insert(static_cast<std::int32_t>(i));
        REQUIRE(dense_w[i] == w[i]);
      }
    }
    CHECK(dense == got);
  }
}

TEST_CASE("min_p keeps tokens with p >= min_p * p_max") {
  const auto logits = logs({0.06, 0.5, 0.04, 0.1, 0.3});
  SamplerConfig c;
  c.min_p = 0.15f;  // threshold 0.075: keeps 0.5, 0.3, 0.1
  c.seed = 8;
  Sampler s(c, 5);
  const auto f = frequencies(s, logits, 20000);
  CHECK(f[0] == 0.0);
  CHECK(f[2] == 0.0);
  CHECK(max_abs_diff({f[1], f[4], f[3]}, {0.5 / 0.9, 0.3 / 0.9, 0.1 / 0.9}) < 0.015);
}

TEST_CASE("top_k, top_p and min_p combined on a real-sized vocabulary") {
  SamplerConfig c;
  c.temperature = 0.8f;
  c.top_k = 40;
  c.top_p = 0.95f;
  c.min_p = 0.05f;
  c.seed = 21;
  Sampler s(c, 49152);
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    const auto logits = normal_logits(49152, seed, 3.0f);
    const float m = *std::max_element(logits.begin(), logits.end());
    const int t = s.sample(logits);
    const float lt = logits[static_cast<std::size_t>(t)];
    CHECK(std::count_if(logits.begin(), logits.end(), [&](float l) { return l > lt; }) < 40);
    CHECK(std::exp((lt - m) / 0.8f) >= 0.05f * 0.999f);  // min_p
  }
}

TEST_CASE("same seed gives the same tokens, different seeds differ, reset re-seeds") {
  SamplerConfig c;
  c.seed = 42;
  c.top_k = 50;
  c.top_p = 0.9f;
  Sampler a(c, 2000), b(c, 2000);
  c.seed = 43;
  Sampler other(c, 2000);
  std::vector<int> first;
  int differ = 0;
  for (std::uint64_t i = 0; i < 200; ++i) {
    const auto logits = normal_logits(2000, i, 0.5f);
    const int ta = a.sample(logits);
    CHECK(ta == b.sample(logits));
    differ += ta != other.sample(logits);
    first.push_back(ta);
  }
  CHECK(differ > 50);
  a.reset();
  for (std::uint64_t i = 0; i < 200; ++i) CHECK(a.sample(normal_logits(2000, i, 0.5f)) == first[i]);
}

TEST_CASE("repetition penalty divides positive and multiplies negative logits") {
  SamplerConfig c = greedy_config();
  c.repetition_penalty = 1.2f;
  Sampler s(c, 3);
  CHECK(s.sample(std::vector<float>{2.0f, 1.9f, -5.0f}) == 0);
  s.accept(0);
  CHECK(s.sample(std::vector<float>{2.0f, 1.9f, -5.0f}) == 1);  // 2 / 1.2 = 1.67
  CHECK(s.sample(std::vector<float>{-1.0f, -1.1f, -5.0f}) == 1);  // -1 * 1.2 = -1.2
  c.repetition_penalty = 1.05f;
  Sampler mild(c, 3);
  mild.accept(0);
  CHECK(mild.sample(std::vector<float>{-1.0f, -1.1f, -5.0f}) == 0);  // -1.05 > -1.1
}

TEST_CASE("frequency penalty scales with the count, presence does not") {
  SamplerConfig c = greedy_config();
  c.frequency_penalty = 0.4f;
  Sampler f(c, 2);
  const std::vector<float> logits{3.0f, 2.0f};
  f.accept(0);
  f.accept(0);
  CHECK(f.sample(logits) == 0);  // 3 - 0.8 = 2.2
  f.accept(0);
  CHECK(f.sample(logits) == 1);  // 3 - 1.2 = 1.8

  c.frequency_penalty = 0.0f;
  c.presence_penalty = 0.9f;
  Sampler p(c, 2);
  for (int i = 0; i < 5; ++i) p.accept(0);
  CHECK(p.sample(logits) == 0);  // 3 - 0.9, whatever the count
  c.presence_penalty = 1.1f;
  Sampler p2(c, 2);
  p2.accept(0);
  CHECK(p2.sample(logits) == 1);  // 3 - 1.1 = 1.9
}

TEST_CASE("penalty window: only the last penalty_last_n accepted tokens count") {
  SamplerConfig c = greedy_config();
  c.frequency_penalty = 10.0f;
  c.penalty_last_n = 2;
  Sampler s(c, 3);
  const std::vector<float> logits{3.0f, 2.0f, 1.0f};
  s.accept(0);
  CHECK(s.sample(logits) == 1);
  s.accept(2);
  s.accept(2);  // 0 has left the window
  CHECK(s.sample(logits) == 0);
  s.reset();
  CHECK(s.sample(logits) == 0);

  c.penalty_last_n = -1;
  Sampler all(c, 3);
  all.accept(0);
  for (int i = 0; i < 500; ++i) all.accept(2);
  CHECK(all.sample(logits) == 1);

  c.penalty_last_n = 0;
  Sampler off(c, 3);
  off.accept(0);
  CHECK(off.sample(logits) == 0);
}

TEST_CASE("penalty window counts match a reference over random accept sequences") {
  // With frequency penalty 1, token p (logit 0) beats every other token (logit
  // <= -k - 0.5, and token 6 is never accepted so one of them stays at exactly
  // -k - 0.5) when its count is <= k: the smallest such k is the count.
  const auto count_seen = [](Sampler& s, int p, int vocab) {
    for (int k = 0; k <= 1000; ++k) {
      std::vector<float> logits(static_cast<std::size_t>(vocab), -static_cast<float>(k) - 0.5f);
      logits[static_cast<std::size_t>(p)] = 0.0f;
      if (s.sample(logits) == p) return k;
    }
    return -1;
  };
  std::mt19937 rng(17);
  for (int last_n : {1, 3, 5, 16, -1}) {
    SamplerConfig c = greedy_config();
    c.frequency_penalty = 1.0f;
    c.penalty_last_n = last_n;
    Sampler s(c, 7);
    std::vector<int> history;
    for (int step = 0; step < 40; ++step) {
      const int t = static_cast<int>(rng() % 6);
      s.accept(t);
      history.push_back(t);
      const std::size_t from = last_n < 0 ? 0 : history.size() - std::min<std::size_t>(history.size(), static_cast<std::size_t>(last_n));
      for (int p = 0; p < 6; ++p) {
        const auto expected = std::count(history.begin() + static_cast<long>(from), history.end(), p);
        CAPTURE(last_n);
        REQUIRE(count_seen(s, p, 7) == expected);
      }
    }
  }
}

TEST_CASE("bias is applied before the penalties") {
  SamplerConfig c = greedy_config();
  c.logit_bias = {{0, 1.0f}};
  c.repetition_penalty = 2.0f;
  Sampler s(c, 2);
  s.accept(0);
  // (1 + 1) / 2 = 1.0 < 1.4; penalty first would give 1 / 2 + 1 = 1.5.
  CHECK(s.sample(std::vector<float>{1.0f, 1.4f}) == 1);
}

TEST_CASE("invalid configurations and tokens are rejected") {
  const auto rejects = [](SamplerConfig c, int n = 10) {
    try {
      Sampler s(c, n);
    } catch (const cnai::Error& e) {
      return e.code() == cnai::ErrorCode::invalid_argument;
    }
    return false;
  };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  SamplerConfig ok;
  CHECK_FALSE(rejects(ok));
  CHECK(rejects(ok, 0));
  CHECK(rejects(ok, -3));
  auto with = [&](auto edit) { SamplerConfig c; edit(c); return c; };
  CHECK(rejects(with([&](SamplerConfig& c) { c.temperature = nan; })));
  CHECK(rejects(with([&](SamplerConfig& c) { c.top_k = -1; })));
  CHECK(rejects(with([&](SamplerConfig& c) { c.top_p = 0.0f; })));
  CHECK(rejects(with([&](SamplerConfig& c) { c.top_p = 1.01f; })));
  CHECK(rejects(with([&](SamplerConfig& c) { c.top_p = nan; })));
  CHECK(rejects(with([&](SamplerConfig& c) { c.min_p = -0.1f; })));
  CHECK(rejects(with([&](SamplerConfig& c) { c.min_p = 1.5f; })));
  CHECK(rejects(with([&](SamplerConfig& c) { c.min_p = nan; })));
  CHECK(rejects(with([&](SamplerConfig& c) { c.repetition_penalty = inf; })));
  CHECK(rejects(with([&](SamplerConfig& c) { c.repetition_penalty = 0.0f; })));
  CHECK(rejects(with([&](SamplerConfig& c) { c.frequency_penalty = nan; })));
  CHECK(rejects(with([&](SamplerConfig& c) { c.presence_penalty = -inf; })));
  CHECK(rejects(with([&](SamplerConfig& c) { c.penalty_last_n = -2; })));
  CHECK(rejects(with([&](SamplerConfig& c) { c.logit_bias = {{10, 1.0f}}; })));
  CHECK(rejects(with([&](SamplerConfig& c) { c.logit_bias = {{-1, 1.0f}}; })));
  CHECK(rejects(with([&](SamplerConfig& c) { c.logit_bias = {{3, nan}}; })));
  CHECK_FALSE(rejects(with([&](SamplerConfig& c) { c.top_k = 100; })));  // larger than the vocabulary: off
  Sampler s(ok, 10);
  CHECK_THROWS_AS(s.accept(10), cnai::Error);
  CHECK_THROWS_AS(s.accept(-1), cnai::Error);
}

TEST_CASE("SamplerConfig::from maps the request fields and keeps defaults") {
  cnai::SamplingParams p;
  const auto d = SamplerConfig::from(p);
  CHECK(d.temperature == 1.0f);
  CHECK(d.top_k == 0);
  CHECK(d.top_p == 1.0f);
  CHECK(d.penalty_last_n == 64);
  CHECK(d.seed != SamplerConfig::from(p).seed);  // random seeds (collision chance 2^-64)
  p.temperature = 0.3f;
  p.top_k = 7;
  p.top_p = 0.8f;
  p.min_p = 0.1f;
  p.repetition_penalty = 1.1f;
  p.frequency_penalty = 0.5f;
  p.presence_penalty = 0.25f;
  p.seed = 99;
  p.logit_bias = {{4, -100.0f}};
  const auto c = SamplerConfig::from(p);
  CHECK(c.temperature == 0.3f);
  CHECK(c.top_k == 7);
  CHECK(c.top_p == 0.8f);
  CHECK(c.min_p == 0.1f);
  CHECK(c.repetition_penalty == 1.1f);
  CHECK(c.frequency_penalty == 0.5f);
  CHECK(c.presence_penalty == 0.25f);
  CHECK(c.seed == 99);
  CHECK(c.logit_bias.at(4) == -100.0f);
}
