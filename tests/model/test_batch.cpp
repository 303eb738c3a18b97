// The forward pass over a Batch on the real default model: rows of several
// sequences, each over its own scattered blocks, get the logits each sequence
// gets when evaluated alone through Context; bad batches are named errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/model/model.hpp"
#include "model/batch.hpp"
#include "model/kv_cache.hpp"
#include "model/transformer.hpp"
#include "support/default_model.hpp"

namespace {

using cnai::model::Batch;
using cnai::model::KvCache;

// Two prompts in SmolLM2 ids ("The capital of France is Paris. The capital of",
// and a second sentence).
const std::vector<std::int32_t> kA = {504, 3575, 282, 4649, 314, 7042, 30, 378, 3575, 282};
const std::vector<std::int32_t> kB = {1780, 253, 1345, 2116, 28, 314, 5248};

std::shared_ptr<cnai::Model> load(cnai::KvCacheType kv) {
  const auto path = cnai::testing::default_model_or_skip();
  if (!path) return nullptr;
  cnai::ModelOptions o;
  o.threads = 2;
  o.n_ctx = 64;
  o.kv_type = kv;
  return cnai::Model::load(*path, o);
}

std::vector<float> row(std::span<const float> all, std::size_t i, std::size_t n_vocab) {
  return {all.begin() + static_cast<std::ptrdiff_t>(i * n_vocab),
          all.begin() + static_cast<std::ptrdiff_t>((i + 1) * n_vocab)};
}

}  // namespace

TEST_CASE("interleaved rows of two sequences over scattered blocks get the logits each gets alone") {
  for (auto type : {cnai::KvCacheType::f32, cnai::KvCacheType::f16}) {
    auto model = load(type);
    if (!model) return;
    CAPTURE(int(type));
    const auto& w = model->weights();
    const std::size_t V = static_cast<std::size_t>(w.config.n_vocab);
    // Alone: each prompt through a Context (its blocks in order), every row's logits.
    std::vector<std::vector<float>> alone;
    for (const auto* prompt : {&kA, &kB}) {
      cnai::Context ctx(model);
      ctx.eval(*prompt, /*all_logits=*/true);
      alone.emplace_back(ctx.all_logits().begin(), ctx.all_logits().end());
    }
    // Together: one pass, rows alternating between the sequences, whose
    // blocks are scattered (block size 4, so each prompt spans several).
    KvCache kv(w.config.n_layer, 16, 4, w.config.n_head_kv, w.config.head_dim, type);
    cnai::model::Activations act(w, 32);
    const std::vector<std::int32_t> blocks_a = {9, 2, 14}, blocks_b = {5, 0};
    Batch batch;
    const auto a = batch.add_sequence(blocks_a), b = batch.add_sequence(blocks_b);
    std::vector<std::pair<int, std::size_t>> order;  // (sequence, position) of each row
    for (std::size_t i = 0; i < std::max(kA.size(), kB.size()); ++i) {
      if (i < kA.size()) batch.add(kA[i], a, static_cast<std::int32_t>(i), true), order.emplace_back(0, i);
      if (i < kB.size()) batch.add(kB[i], b, static_cast<std::int32_t>(i), true), order.emplace_back(1, i);
    }
    std::vector<float> logits(batch.n_logits() * V);
    cnai::model::forward(w, kv, act, model->pool(), batch, logits.data());
    for (std::size_t r = 0; r < order.size(); ++r) {
      const auto [seq, pos] = order[r];
      CAPTURE(seq);
      CAPTURE(pos);
      CHECK(row(logits, r, V) == row(alone[static_cast<std::size_t>(seq)], pos, V));
    }
    // A decode step of both at once, logits only for B's row, equals B alone.
    batch.clear();
    batch.add_sequence(blocks_a);
    batch.add_sequence(blocks_b);
    batch.add(378, a, static_cast<std::int32_t>(kA.size()), false);
    batch.add(378, b, static_cast<std::int32_t>(kB.size()), true);
    std::vector<float> step(V);
    cnai::model::forward(w, kv, act, model->pool(), batch, step.data());
    cnai::Context ctx(model);
    ctx.eval(kB);
    const std::int32_t next = 378;
    const auto want = ctx.eval(std::span<const std::int32_t>(&next, 1));
    CHECK(step == std::vector<float>(want.begin(), want.end()));
  }
}

TEST_CASE("a bad batch is invalid_argument naming the row, before the cache is touched") {
  auto model = load(cnai::KvCacheType::f16);
  if (!model) return;
  const auto& w = model->weights();
  KvCache kv(w.config.n_layer, 4, 16, w.config.n_head_kv, w.config.head_dim, cnai::KvCacheType::f16);
  cnai::model::Activations act(w, 8);
  const std::vector<std::int32_t> blocks = {1, 3}, outside = {7};
  auto message_of = [&](const Batch& batch) {
    try {
      cnai::model::forward(w, kv, act, model->pool(), batch, nullptr);
    } catch (const cnai::Error& e) {
      CHECK(e.code() == cnai::ErrorCode::invalid_argument);
      return std::string(e.what());
    }
    FAIL("expected an error");
    return std::string();
  };
  Batch b;
  CHECK(message_of(b).find("no tokens") != std::string::npos);
  b.add_sequence(blocks);
  b.add(5, 0, 0, false);
  b.add(49152, 0, 1, false);
  CHECK(message_of(b).find("token id 49152 at row 1") != std::string::npos);
  b.tokens[1] = 6;
  b.seq[1] = 1;
  CHECK(message_of(b).find("sequence 1 at row 1 has no block table") != std::string::npos);
  b.seq[1] = 0;
  b.positions[1] = 32;
  CHECK(message_of(b).find("position 32 at row 1") != std::string::npos);
  b.add_sequence(outside);
  b.positions[1] = 1;
  b.seq[1] = 1;
  CHECK(message_of(b).find("block 7 at row 1") != std::string::npos);
  Batch big;
  big.add_sequence(blocks);
  for (int i = 0; i < 9; ++i) big.add(5, 0, i, false);
  CHECK(message_of(big).find("9 rows exceed the 8") != std::string::npos);
}
