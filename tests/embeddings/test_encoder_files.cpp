// EncoderModel on small hand-made BERT GGUF files: a well-formed one loads and
// embeds (pooling and normalisation as the metadata or the options say), and
// each broken variant — a missing tensor, a wrong shape, causal attention, an
// unknown pooling type, a bad hyper-parameter — gets its typed error naming it.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/engine/embedding_engine.hpp"
#include "cnai/model/encoder.hpp"
#include "support/gguf_builder.hpp"

namespace {

using namespace cnai::testing;
constexpr std::uint64_t D = 32, F = 64, V = 20, CTX = 16;

std::vector<float> random_values(std::size_t n, std::uint32_t seed, float scale = 0.2f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

struct TinyBert {
  std::string skip_tensor;                 // leave this tensor out
  std::string bad_shape_tensor;            // give this one a wrong shape
  std::function<void(GgufBuilder&)> extra;  // more (or overriding) metadata

  Bytes build() const {
    GgufBuilder b;
    b.kv("general.architecture", gv::str("bert"));
    b.kv("bert.block_count", gv::u32(1));
    b.kv("bert.context_length", gv::u32(CTX));
    b.kv("bert.embedding_length", gv::u32(D));
    b.kv("bert.feed_forward_length", gv::u32(F));
    b.kv("bert.attention.head_count", gv::u32(4));
    b.kv("bert.attention.layer_norm_epsilon", gv::f32(1e-12f));
    if (extra) extra(b);
    std::vector<std::string> tokens;
    for (std::uint64_t i = 0; i < V; ++i) tokens.push_back(i == 0 ? "[PAD]" : "\xE2\x96\x81t" + std::to_string(i));
    b.kv("tokenizer.ggml.model", gv::str("bert"));
    b.kv("tokenizer.ggml.tokens", gv::str_array(tokens));
    std::uint32_t seed = 1;
    auto add = [&](const std::string& name, std::vector<std::uint64_t> shape) {
      if (name == skip_tensor) return;
      if (name == bad_shape_tensor) shape.back() += 1;
      std::size_t n = 1;
      for (auto d : shape) n *= d;
      const bool norm_weight = name.find("norm.weight") != std::string::npos;
      std::vector<float> v = random_values(n, seed++);
      if (norm_weight) for (auto& x : v) x += 1.0f;
      b.f32_tensor(name, shape, v);
    };
    add("token_embd.weight", {V, D});
    add("position_embd.weight", {CTX, D});
    add("token_types.weight", {2, D});
    add("token_embd_norm.weight", {D});
    add("token_embd_norm.bias", {D});
    for (const char* m : {"attn_q", "attn_k", "attn_v", "attn_output"}) {
      add(std::string("blk.0.") + m + ".weight", {D, D});
      add(std::string("blk.0.") + m + ".bias", {D});
    }
    add("blk.0.attn_output_norm.weight", {D});
    add("blk.0.attn_output_norm.bias", {D});
    add("blk.0.ffn_up.weight", {F, D});
    add("blk.0.ffn_up.bias", {F});
    add("blk.0.ffn_down.weight", {D, F});
    add("blk.0.ffn_down.bias", {D});
    add("blk.0.layer_output_norm.weight", {D});
    add("blk.0.layer_output_norm.bias", {D});
    return b.build();
  }
};

cnai::ErrorCode load_error(const TinyBert& t, std::string* message) {
  TempFile file(t.build());
  try {
    cnai::EncoderModel::load(file.path());
  } catch (const cnai::Error& e) {
    *message = e.what();
    return e.code();
  }
  FAIL("loaded");
  return cnai::ErrorCode::internal;
}

std::vector<float> embed(const cnai::EncoderModel& m, const std::vector<std::int32_t>& ids) {
  std::vector<float> out(D);
  const std::span<const std::int32_t> s(ids);
  m.embed(std::span(&s, 1), out);
  return out;
}

}  // namespace

TEST_CASE("a tiny BERT file loads and embeds; pooling and normalisation follow metadata and options") {
  TempFile file(TinyBert{}.build());
  cnai::EncoderOptions two_threads;
  two_threads.threads = 2;
  auto m = cnai::EncoderModel::load(file.path(), two_threads);
  CHECK(m->config().n_layer == 1);
  CHECK(m->config().head_dim == 8);
  CHECK(m->config().pooling == cnai::Pooling::mean);  // no pooling key: mean
  CHECK(m->config().normalize);                       // no cnai key: normalised
  const std::vector<std::int32_t> ids{1, 5, 7, 2};
  const auto mean = embed(*m, ids);
  double norm = 0;
  for (float x : mean) norm += double(x) * x;
  CHECK(std::abs(norm - 1.0) < 1e-5);
  CHECK(embed(*m, ids) == mean);  // deterministic

  cnai::EncoderOptions cls_raw;
  cls_raw.pooling = cnai::Pooling::cls;
  cls_raw.normalize = false;
  auto cls = cnai::EncoderModel::load(file.path(), cls_raw);
  cnai::EncoderOptions last_raw = cls_raw;
  last_raw.pooling = cnai::Pooling::last;
  auto last = cnai::EncoderModel::load(file.path(), last_raw);
  // One token: its state is the mean, the first and the last.
  const auto one_cls = embed(*cls, {3}), one_last = embed(*last, {3});
  CHECK(one_cls == one_last);
  CHECK(embed(*cls, ids) != embed(*last, ids));

  TinyBert with_keys;
  with_keys.extra = [](GgufBuilder& b) {
    b.kv("bert.pooling_type", gv::u32(2));
    b.kv("cnai.embedding.normalize", gv::boolean(false));
  };
  TempFile keyed(with_keys.build());
  auto k = cnai::EncoderModel::load(keyed.path());
  CHECK(k->config().pooling == cnai::Pooling::cls);
  CHECK_FALSE(k->config().normalize);
  CHECK(embed(*k, ids) == embed(*cls, ids));
}

TEST_CASE("broken BERT files get typed errors naming what is wrong") {
  std::string msg;
  TinyBert missing;
  missing.skip_tensor = "blk.0.ffn_down.weight";
  CHECK(load_error(missing, &msg) == cnai::ErrorCode::model_format);
  CHECK(msg.find("blk.0.ffn_down.weight") != std::string::npos);

  TinyBert shaped;
  shaped.bad_shape_tensor = "blk.0.attn_k.weight";
  CHECK(load_error(shaped, &msg) == cnai::ErrorCode::model_format);
  CHECK(msg.find("blk.0.attn_k.weight") != std::string::npos);

  TinyBert norm_missing;
  norm_missing.skip_tensor = "token_embd_norm.bias";
  CHECK(load_error(norm_missing, &msg) == cnai::ErrorCode::model_format);

  TinyBert causal;
  causal.extra = [](GgufBuilder& b) { b.kv("bert.attention.causal", gv::boolean(true)); };
  CHECK(load_error(causal, &msg) == cnai::ErrorCode::unsupported);

  TinyBert pooling;
  pooling.extra = [](GgufBuilder& b) { b.kv("bert.pooling_type", gv::u32(4)); };  // rank: not an embedding
  CHECK(load_error(pooling, &msg) == cnai::ErrorCode::unsupported);
  CHECK(msg.find("pooling") != std::string::npos);

  TinyBert heads;
  heads.extra = [](GgufBuilder& b) { b.kv("bert.attention.head_count", gv::u32(5)); };  // 32 % 5 != 0
  CHECK(load_error(heads, &msg) == cnai::ErrorCode::model_format);

  TinyBert zero;
  zero.extra = [](GgufBuilder& b) { b.kv("bert.block_count", gv::u32(0)); };
  CHECK(load_error(zero, &msg) == cnai::ErrorCode::model_format);
  CHECK(msg.find("block_count") != std::string::npos);

  TinyBert no_types;  // token types are optional (row 0 is then zero)
  no_types.skip_tensor = "token_types.weight";
  TempFile ok(no_types.build());
  CHECK_NOTHROW(cnai::EncoderModel::load(ok.path()));
}

TEST_CASE("an embedding engine on a tiny model refuses inputs longer than its context and truncates on request") {
  TempFile file(TinyBert{}.build());
  auto e = cnai::EmbeddingEngine::load(file.path());
  CHECK(e->n_ctx() == static_cast<int>(CTX));
  cnai::EmbeddingRequest r;
  r.input = {"t1 t2 t3 t4 t5 t6 t7 t8 t9 t10 t11 t12 t13 t14 t15 t16 t17"};
  CHECK_THROWS_AS(e->embeddings(r), cnai::Error);
  r.truncate = true;
  const auto out = e->embeddings(r);
  CHECK(out.usage.prompt_tokens == static_cast<std::int64_t>(CTX));
}
