// Model/Context on the real default model: config from metadata, finite logits,
// incremental decoding equals one batch, errors before state changes, reset.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/gguf/gguf.hpp"
#include "cnai/model/model.hpp"
#include "support/default_model.hpp"
#include "support/gguf_builder.hpp"

namespace {

// "The capital of France is Paris. The capital of" in SmolLM2 ids.
const std::vector<std::int32_t> kTokens = {504, 3575, 282, 4649, 314, 7042, 30, 378, 3575, 282};

std::shared_ptr<cnai::Model> load_default(int n_ctx = 64) {
  const auto path = cnai::testing::default_model_or_skip();
  if (!path) return nullptr;
  cnai::ModelOptions o;
  o.threads = 2;
  o.n_ctx = n_ctx;
  return cnai::Model::load(*path, o);
}

float max_abs_diff(std::span<const float> a, std::span<const float> b) {
  REQUIRE(a.size() == b.size());
  float m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

float range_of(std::span<const float> a) {
  const auto [lo, hi] = std::minmax_element(a.begin(), a.end());
  return *hi - *lo;
}

template <class F>
cnai::ErrorCode error_code_of(F&& f) {
  try {
    f();
  } catch (const cnai::Error& e) {
    return e.code();
  }
  FAIL("no cnai::Error thrown");
  return cnai::ErrorCode::internal;
}

}  // namespace

TEST_CASE("the default model's config matches its GGUF metadata") {
  auto model = load_default();
  if (!model) return;
  const auto gguf = cnai::GgufReader::open(model->path());
  const cnai::ModelConfig& c = model->config();
  CHECK(c.arch == "llama");
  CHECK(c.n_layer == static_cast<int>(gguf.get_u32("llama.block_count")));
  CHECK(c.n_embd == static_cast<int>(gguf.get_u32("llama.embedding_length")));
  CHECK(c.n_ff == static_cast<int>(gguf.get_u32("llama.feed_forward_length")));
  CHECK(c.n_head == static_cast<int>(gguf.get_u32("llama.attention.head_count")));
  CHECK(c.n_head_kv == static_cast<int>(gguf.get_u32("llama.attention.head_count_kv")));
  CHECK(c.n_ctx_train == static_cast<int>(gguf.get_u32("llama.context_length")));
  CHECK(c.rms_eps == gguf.get_f32("llama.attention.layer_norm_rms_epsilon"));
  CHECK(c.rope_freq_base == gguf.get_f32("llama.rope.freq_base"));
  CHECK(c.n_vocab == static_cast<int>(gguf.get_string_array("tokenizer.ggml.tokens").size()));
  // Known values of SmolLM2-135M (see COMMON.md).
  CHECK(c.n_layer == 30);
  CHECK(c.n_embd == 576);
  CHECK(c.n_head == 9);
  CHECK(c.n_head_kv == 3);
  CHECK(c.head_dim == 64);
  CHECK(c.n_ff == 1536);
  CHECK(c.n_vocab == 49152);
  CHECK(c.tied_output);
  CHECK_FALSE(c.rope_neox);
  CHECK(model->threads() == 2);
}

TEST_CASE("eval gives finite, non-degenerate logits that predict the obvious next token") {
  auto model = load_default();
  if (!model) return;
  cnai::Context ctx(model);
  const auto logits = ctx.eval(kTokens);
  REQUIRE(logits.size() == 49152);
  CHECK(std::all_of(logits.begin(), logits.end(), [](float x) { return std::isfinite(x); }));
  CHECK(range_of(logits) > 5.0f);
  CHECK(ctx.n_past() == static_cast<int>(kTokens.size()));
  // "... The capital of" should continue with " Germany"-like country names, not
  // with token 0: at least the top token must not be a control token.
  const auto top = std::max_element(logits.begin(), logits.end()) - logits.begin();
  CHECK(top > 16);
}

TEST_CASE("incremental decoding matches one batch; all-logits rows match the last row") {
  auto model = load_default();
  if (!model) return;
  cnai::Context batch(model);
  batch.eval(kTokens, /*all_logits=*/true);
  const std::vector<float> all(batch.all_logits().begin(), batch.all_logits().end());
  REQUIRE(all.size() == kTokens.size() * 49152);
  const std::vector<float> last_batch(batch.logits().begin(), batch.logits().end());

  cnai::Context step(model);
  const float tol = 0.03f * range_of(last_batch);  // activation rounding differs between batch shapes
  for (std::size_t i = 0; i < kTokens.size(); ++i) {
    const auto l = step.eval(std::span<const std::int32_t>(&kTokens[i], 1));
    const std::span<const float> row(all.data() + i * 49152, 49152);
    CHECK(max_abs_diff(l, row) <= tol);
  }
  CHECK(max_abs_diff(step.logits(), last_batch) <= tol);
  const auto a = std::max_element(last_batch.begin(), last_batch.end()) - last_batch.begin();
  const auto b = std::max_element(step.logits().begin(), step.logits().end()) - step.logits().begin();
  CHECK(a == b);
}

TEST_CASE("a batch longer than n_batch is split and matches the unsplit batch") {
  auto model = load_default();
  if (!model) return;
  cnai::Context whole(model);
  whole.eval(kTokens);
  cnai::ContextOptions o;
  o.n_batch = 3;
  cnai::Context split(model, o);
  split.eval(kTokens);
  CHECK(max_abs_diff(split.logits(), whole.logits()) <= 0.03f * range_of(whole.logits()));
}

TEST_CASE("context overflow and invalid ids are rejected before any state changes") {
  auto model = load_default(/*n_ctx=*/8);
  if (!model) return;
  cnai::Context ctx(model);
  CHECK(ctx.n_ctx() == 8);
  ctx.eval(std::span<const std::int32_t>(kTokens.data(), 6));
  const std::vector<float> before(ctx.logits().begin(), ctx.logits().end());
  CHECK(error_code_of([&] { ctx.eval(std::span<const std::int32_t>(kTokens.data(), 3)); }) ==
        cnai::ErrorCode::context_overflow);
  CHECK(ctx.n_past() == 6);
  const std::vector<std::int32_t> bad = {5, 49152};
  CHECK(error_code_of([&] { ctx.eval(bad); }) == cnai::ErrorCode::invalid_argument);
  const std::vector<std::int32_t> negative = {-1};
  CHECK(error_code_of([&] { ctx.eval(negative); }) == cnai::ErrorCode::invalid_argument);
  CHECK(error_code_of([&] { ctx.eval({}); }) == cnai::ErrorCode::invalid_argument);
  CHECK(ctx.n_past() == 6);
  CHECK(max_abs_diff(ctx.logits(), before) == 0.0f);
  ctx.eval(std::span<const std::int32_t>(kTokens.data() + 6, 2));  // exactly fills n_ctx
  CHECK(ctx.n_past() == 8);
  try {
    ctx.eval(std::span<const std::int32_t>(kTokens.data(), 1));
    FAIL("expected context_overflow");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == cnai::ErrorCode::context_overflow);
    CHECK(std::string(e.what()).find("8") != std::string::npos);
  }
}

TEST_CASE("reset and truncate reuse the cache: same tokens give the same logits") {
  auto model = load_default();
  if (!model) return;
  cnai::Context ctx(model);
  ctx.eval(kTokens);
  const std::vector<float> first(ctx.logits().begin(), ctx.logits().end());
  ctx.reset();
  CHECK(ctx.n_past() == 0);
  const std::vector<std::int32_t> other = {1, 2, 3};
  ctx.eval(other);
  ctx.reset();
  ctx.eval(kTokens);
  CHECK(max_abs_diff(ctx.logits(), first) == 0.0f);

  ctx.truncate(5);
  CHECK(ctx.n_past() == 5);
  ctx.eval(std::span<const std::int32_t>(kTokens.data() + 5, kTokens.size() - 5));
  CHECK(max_abs_diff(ctx.logits(), first) <= 0.03f * range_of(first));
  CHECK(error_code_of([&] { ctx.truncate(100); }) == cnai::ErrorCode::invalid_argument);
}

TEST_CASE("truncate on a sliding-window model: refused once later positions overwrote the keys it needs") {
  const auto path = cnai::testing::gemma_model_or_skip();
  if (!path) return;
  cnai::ModelOptions o;
  o.threads = 2;
  auto model = cnai::Model::load(*path, o);
  const int window = model->config().sliding_window;
  REQUIRE(window == 512);  // Gemma 3 270M; local layers keep a ring of 512 positions (32 blocks of 16)
  std::vector<std::int32_t> tokens(700);
  for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<std::int32_t>(1000 + 37 * i % 5000);
  cnai::ContextOptions co;
  co.n_ctx = 1024;
  cnai::Context ctx(model, co);
  // Before the ring wraps, truncating keeps an exact prefix: re-evaluating the
  // rest gives the same logits as evaluating the whole once.
  const std::span<const std::int32_t> first300(tokens.data(), 300);
  ctx.eval(first300);
  const std::vector<float> whole(ctx.logits().begin(), ctx.logits().end());
  ctx.truncate(100);
  ctx.eval(first300.subspan(100));
  CHECK(max_abs_diff(ctx.logits(), whole) <= 0.03f * range_of(whole));
  // 700 positions wrapped the ring: positions 512..699 took the rows of 0..187.
  ctx.reset();
  ctx.eval(tokens);
  CHECK(error_code_of([&] { ctx.truncate(600); }) == cnai::ErrorCode::invalid_argument);
  CHECK(ctx.n_past() == 700);  // refused before any change
  ctx.truncate(699);           // position 699 needs 188..698: all still there
  CHECK(ctx.n_past() == 699);
}

TEST_CASE("loading errors name the problem") {
  CHECK(error_code_of([] { cnai::Model::load("/nonexistent/model.gguf"); }) == cnai::ErrorCode::not_found);
}

// ---- tiny hand-built models: an independent scalar forward pass -----------------

namespace {

struct Tiny {
  std::string arch = "llama";
  int n_layer = 2, D = 8, H = 2, Hkv = 1, hd = 4, F = 12, V = 10, n_ctx = 16;
  std::vector<float> embd, out_norm;
  struct Layer {
    std::vector<float> an, wq, wk, wv, bq, bk, bv, wo, fn, wg, wu, wd;
  };
  std::vector<Layer> layers;
};

std::vector<float> pseudo_random(std::size_t n, unsigned seed, float scale, float offset = 0.0f) {
  std::vector<float> v(n);
  unsigned s = seed * 2654435761u + 12345u;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;
    x = offset + scale * (static_cast<float>(s >> 8) / 16777216.0f - 0.5f);
  }
  return v;
}

Tiny make_tiny(const std::string& arch) {
  Tiny t;
  t.arch = arch;
  const auto D = static_cast<std::size_t>(t.D), Q = static_cast<std::size_t>(t.H * t.hd),
             KV = static_cast<std::size_t>(t.Hkv * t.hd), F = static_cast<std::size_t>(t.F);
  t.embd = pseudo_random(static_cast<std::size_t>(t.V) * D, 1, 2.0f);
  t.out_norm = pseudo_random(D, 2, 0.4f, 1.0f);
  for (int i = 0; i < t.n_layer; ++i) {
    const unsigned s = 10u + 20u * static_cast<unsigned>(i);
    Tiny::Layer l;
    l.an = pseudo_random(D, s, 0.4f, 1.0f);
    l.wq = pseudo_random(Q * D, s + 1, 1.5f);
    l.wk = pseudo_random(KV * D, s + 2, 1.5f);
    l.wv = pseudo_random(KV * D, s + 3, 1.0f);
    l.bq = pseudo_random(Q, s + 4, 0.5f);
    l.bk = pseudo_random(KV, s + 5, 0.5f);
    l.bv = pseudo_random(KV, s + 6, 0.5f);
    l.wo = pseudo_random(D * Q, s + 7, 1.0f);
    l.fn = pseudo_random(D, s + 8, 0.4f, 1.0f);
    l.wg = pseudo_random(F * D, s + 9, 1.0f);
    l.wu = pseudo_random(F * D, s + 10, 1.0f);
    l.wd = pseudo_random(D * F, s + 11, 1.0f);
    t.layers.push_back(l);
  }
  return t;
}

cnai::testing::Bytes tiny_gguf(const Tiny& t, bool drop_ffn_norm = false, bool bad_wk_shape = false) {
  using namespace cnai::testing;
  const auto u = [](int x) { return static_cast<std::uint64_t>(x); };
  GgufBuilder b;
  const std::string& a = t.arch;
  b.kv("general.architecture", gv::str(a));
  b.kv(a + ".block_count", gv::u32(static_cast<std::uint32_t>(t.n_layer)));
  b.kv(a + ".context_length", gv::u32(static_cast<std::uint32_t>(t.n_ctx)));
  b.kv(a + ".embedding_length", gv::u32(static_cast<std::uint32_t>(t.D)));
  b.kv(a + ".feed_forward_length", gv::u32(static_cast<std::uint32_t>(t.F)));
  b.kv(a + ".attention.head_count", gv::u32(static_cast<std::uint32_t>(t.H)));
  b.kv(a + ".attention.head_count_kv", gv::u32(static_cast<std::uint32_t>(t.Hkv)));
  b.kv(a + ".attention.layer_norm_rms_epsilon", gv::f32(1e-5f));
  b.kv(a + ".rope.freq_base", gv::f32(100.0f));
  b.kv(a + ".vocab_size", gv::u32(static_cast<std::uint32_t>(t.V)));
  b.f32_tensor("token_embd.weight", {u(t.V), u(t.D)}, t.embd);
  b.f32_tensor("output_norm.weight", {u(t.D)}, t.out_norm);
  for (int i = 0; i < t.n_layer; ++i) {
    const auto& l = t.layers[static_cast<std::size_t>(i)];
    const std::string p = "blk." + std::to_string(i) + ".";
    b.f32_tensor(p + "attn_norm.weight", {u(t.D)}, l.an);
    b.f32_tensor(p + "attn_q.weight", {u(t.H * t.hd), u(t.D)}, l.wq);
    if (bad_wk_shape)
      b.f32_tensor(p + "attn_k.weight", {u(t.D), u(t.Hkv * t.hd)}, l.wk);
    else
      b.f32_tensor(p + "attn_k.weight", {u(t.Hkv * t.hd), u(t.D)}, l.wk);
    b.f32_tensor(p + "attn_v.weight", {u(t.Hkv * t.hd), u(t.D)}, l.wv);
    if (t.arch == "qwen2") {
      b.f32_tensor(p + "attn_q.bias", {u(t.H * t.hd)}, l.bq);
      b.f32_tensor(p + "attn_k.bias", {u(t.Hkv * t.hd)}, l.bk);
      b.f32_tensor(p + "attn_v.bias", {u(t.Hkv * t.hd)}, l.bv);
    }
    b.f32_tensor(p + "attn_output.weight", {u(t.D), u(t.H * t.hd)}, l.wo);
    if (!drop_ffn_norm) b.f32_tensor(p + "ffn_norm.weight", {u(t.D)}, l.fn);
    b.f32_tensor(p + "ffn_gate.weight", {u(t.F), u(t.D)}, l.wg);
    b.f32_tensor(p + "ffn_up.weight", {u(t.F), u(t.D)}, l.wu);
    b.f32_tensor(p + "ffn_down.weight", {u(t.D), u(t.F)}, l.wd);
  }
  return b.build();
}

using Vec = std::vector<double>;

Vec linear(const std::vector<float>& w, const Vec& x, int rows, const std::vector<float>* bias = nullptr) {
  const auto cols = x.size();
  Vec y(static_cast<std::size_t>(rows), 0.0);
  for (std::size_t r = 0; r < y.size(); ++r) {
    for (std::size_t c = 0; c < cols; ++c) y[r] += static_cast<double>(w[r * cols + c]) * x[c];
    if (bias) y[r] += (*bias)[r];
  }
  return y;
}

Vec rms_norm_ref(const Vec& x, const std::vector<float>& w) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double inv = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + 1e-5);
  Vec y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * w[i];
  return y;
}

// Rotates each head of `v` for position `pos` (normal: pairs (2i, 2i+1); neox: (i, i + hd/2)).
void rope_ref(Vec& v, int n_heads, int hd, int pos, bool neox) {
  for (int h = 0; h < n_heads; ++h) {
    for (int i = 0; i < hd / 2; ++i) {
      const double theta = pos * std::pow(100.0, -2.0 * i / hd);
      const std::size_t a = static_cast<std::size_t>(h * hd + (neox ? i : 2 * i));
      const std::size_t b = neox ? a + static_cast<std::size_t>(hd / 2) : a + 1;
      const double x0 = v[a], x1 = v[b];
      v[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
      v[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
    }
  }
}

// Logits at every position of `tokens`, in double precision.
std::vector<Vec> reference_forward(const Tiny& t, const std::vector<std::int32_t>& tokens) {
  const bool qwen = t.arch == "qwen2";
  const auto n = tokens.size();
  std::vector<Vec> x(n);
  for (std::size_t p = 0; p < n; ++p)
    x[p].assign(t.embd.begin() + tokens[p] * t.D, t.embd.begin() + (tokens[p] + 1) * t.D);
  for (const auto& l : t.layers) {
    std::vector<Vec> q(n), k(n), v(n);
    for (std::size_t p = 0; p < n; ++p) {
      const Vec xn = rms_norm_ref(x[p], l.an);
      q[p] = linear(l.wq, xn, t.H * t.hd, qwen ? &l.bq : nullptr);
      k[p] = linear(l.wk, xn, t.Hkv * t.hd, qwen ? &l.bk : nullptr);
      v[p] = linear(l.wv, xn, t.Hkv * t.hd, qwen ? &l.bv : nullptr);
      rope_ref(q[p], t.H, t.hd, static_cast<int>(p), qwen);
      rope_ref(k[p], t.Hkv, t.hd, static_cast<int>(p), qwen);
    }
    for (std::size_t p = 0; p < n; ++p) {
      Vec att(static_cast<std::size_t>(t.H * t.hd), 0.0);
      for (int h = 0; h < t.H; ++h) {
        const int g = h / (t.H / t.Hkv);
        Vec s(p + 1);
        double mx = -1e300;
        for (std::size_t j = 0; j <= p; ++j) {
          double d = 0;
          for (int e = 0; e < t.hd; ++e) d += q[p][static_cast<std::size_t>(h * t.hd + e)] * k[j][static_cast<std::size_t>(g * t.hd + e)];
          s[j] = d / std::sqrt(static_cast<double>(t.hd));
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (std::size_t j = 0; j <= p; ++j)
          for (int e = 0; e < t.hd; ++e)
            att[static_cast<std::size_t>(h * t.hd + e)] += s[j] / sum * v[j][static_cast<std::size_t>(g * t.hd + e)];
      }
      const Vec o = linear(l.wo, att, t.D);
      for (std::size_t i = 0; i < o.size(); ++i) x[p][i] += o[i];
    }
    for (std::size_t p = 0; p < n; ++p) {
      const Vec xn = rms_norm_ref(x[p], l.fn);
      const Vec g = linear(l.wg, xn, t.F), u = linear(l.wu, xn, t.F);
      Vec hdn(g.size());
      for (std::size_t i = 0; i < g.size(); ++i) hdn[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
      const Vec d = linear(l.wd, hdn, t.D);
      for (std::size_t i = 0; i < d.size(); ++i) x[p][i] += d[i];
    }
  }
  std::vector<Vec> logits(n);
  for (std::size_t p = 0; p < n; ++p) logits[p] = linear(t.embd, rms_norm_ref(x[p], t.out_norm), t.V);
  return logits;
}

}  // namespace

TEST_CASE("tiny F32 llama and qwen2 models match an independent scalar forward pass") {
  const std::vector<std::int32_t> tokens = {3, 7, 1, 9, 0, 4, 4, 2};
  for (const std::string arch : {"llama", "qwen2"}) {
    CAPTURE(arch);
    const Tiny t = make_tiny(arch);
    const cnai::testing::TempFile file(tiny_gguf(t));
    cnai::ModelOptions o;
    o.threads = 2;
    auto model = cnai::Model::load(file.path(), o);
    CHECK(model->config().rope_neox == (arch == "qwen2"));
    CHECK(model->config().qkv_bias == (arch == "qwen2"));
    CHECK(model->config().tied_output);
    CHECK(model->options().n_ctx == t.n_ctx);
    const auto ref = reference_forward(t, tokens);
    cnai::Context ctx(model);
    ctx.eval(tokens, /*all_logits=*/true);
    const auto all = ctx.all_logits();
    REQUIRE(all.size() == tokens.size() * static_cast<std::size_t>(t.V));
    double worst = 0;
    for (std::size_t p = 0; p < tokens.size(); ++p)
      for (int v = 0; v < t.V; ++v)
        worst = std::max(worst, std::abs(all[p * static_cast<std::size_t>(t.V) + static_cast<std::size_t>(v)] -
                                         ref[p][static_cast<std::size_t>(v)]));
    CHECK(worst < 1e-3);
    // Token-by-token decoding from a fresh context gives the same last row.
    cnai::Context step(model);
    for (std::int32_t id : tokens) step.eval(std::span<const std::int32_t>(&id, 1));
    for (int v = 0; v < t.V; ++v) CHECK(step.logits()[static_cast<std::size_t>(v)] == doctest::Approx(ref.back()[static_cast<std::size_t>(v)]).epsilon(1e-3));
  }
}

TEST_CASE("model format errors name the key or tensor; unknown architectures are unsupported") {
  auto message_of = [](const cnai::testing::Bytes& bytes, cnai::ErrorCode want) {
    const cnai::testing::TempFile file(bytes);
    try {
      cnai::Model::load(file.path());
    } catch (const cnai::Error& e) {
      CHECK(e.code() == want);
      return std::string(e.what());
    }
    FAIL("Model::load accepted a broken model");
    return std::string();
  };
  Tiny t = make_tiny("llama");
  CHECK(message_of(tiny_gguf(t, /*drop_ffn_norm=*/true), cnai::ErrorCode::model_format).find("blk.0.ffn_norm.weight") !=
        std::string::npos);
  CHECK(message_of(tiny_gguf(t, false, /*bad_wk_shape=*/true), cnai::ErrorCode::model_format)
            .find("blk.0.attn_k.weight") != std::string::npos);
  t.arch = "gpt-neox-unknown";
  CHECK(message_of(tiny_gguf(t), cnai::ErrorCode::unsupported).find("gpt-neox-unknown") != std::string::npos);
  // A missing hyper-parameter key is named.
  cnai::testing::GgufBuilder b;
  b.kv("general.architecture", cnai::testing::gv::str("llama"));
  CHECK(message_of(b.build(), cnai::ErrorCode::model_format).find("llama.block_count") != std::string::npos);
}

TEST_CASE("an F16 KV cache stays close to the scalar reference") {
  const std::vector<std::int32_t> tokens = {3, 7, 1, 9, 0, 4};
  const Tiny t = make_tiny("qwen2");
  const cnai::testing::TempFile file(tiny_gguf(t));
  cnai::ModelOptions o;
  o.threads = 2;
  o.kv_type = cnai::KvCacheType::f16;
  auto model = cnai::Model::load(file.path(), o);
  const auto ref = reference_forward(t, tokens);
  cnai::Context ctx(model);
  for (std::int32_t id : tokens) ctx.eval(std::span<const std::int32_t>(&id, 1));
  double worst = 0, span = 0;
  for (int v = 0; v < t.V; ++v) {
    worst = std::max(worst, std::abs(ctx.logits()[static_cast<std::size_t>(v)] - ref.back()[static_cast<std::size_t>(v)]));
    span = std::max(span, std::abs(ref.back()[static_cast<std::size_t>(v)]));
  }
  CHECK(worst < 0.01 * span);
  CHECK(worst > 0.0);  // the cache really is F16: some rounding shows
}
