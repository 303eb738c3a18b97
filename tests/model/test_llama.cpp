// Model/Context on the real default model: config from metadata, finite logits,
// incremental decoding equals one batch, errors before state changes, reset.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/model/gguf.hpp"
#include "cnai/model/model.hpp"
#include "support/default_model.hpp"

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

TEST_CASE("loading errors name the problem") {
  CHECK(error_code_of([] { cnai::Model::load("/nonexistent/model.gguf"); }) == cnai::ErrorCode::not_found);
}
