#include "model/transformer.hpp"

#include <algorithm>
#include <cmath>

#include "cnai/ops/embedding.hpp"
#include "cnai/ops/matmul.hpp"
#include "cnai/ops/rms_norm.hpp"
#include "cnai/ops/swiglu.hpp"

namespace cnai::model {
namespace {

Tensor view(const Tensor& buf, const Shape& shape) { return Tensor::borrow(DType::F32, shape, buf.data()); }

void add_in_place(float* x, const float* y, std::int64_t n) noexcept {
  for (std::int64_t i = 0; i < n; ++i) x[i] += y[i];
}

struct Dims {
  std::int64_t T, D, H, Hkv, hd, F, V;
  Dims(const ModelConfig& c, std::int64_t t)
      : T(t), D(c.n_embd), H(c.n_head), Hkv(c.n_head_kv), hd(c.head_dim), F(c.n_ff), V(c.n_vocab) {}
};

void attention_block(const ModelWeights& w, int il, KvCache& kv, Activations& a, ThreadPool& pool,
                     const Dims& d, std::span<const std::int32_t> pos, bool direct) {
  const LayerWeights& l = w.layers[static_cast<std::size_t>(il)];
  const Tensor x = view(a.x, {d.T, d.D});
  Tensor xn = view(a.xn, {d.T, d.D});
  ops::rms_norm(x, l.attn_norm, w.config.rms_eps, xn);

  // direct: the rows go to consecutive F32 cache rows, which receive K and V
  // straight from the projections.
  const std::int64_t row0 = a.cache_rows[0];
  Tensor q = view(a.q, {d.T, d.H * d.hd});
  Tensor k = direct ? kv.k_rows(il, row0, d.T).reshape({d.T, d.Hkv * d.hd}) : view(a.k, {d.T, d.Hkv * d.hd});
  Tensor v = direct ? kv.v_rows(il, row0, d.T).reshape({d.T, d.Hkv * d.hd}) : view(a.v, {d.T, d.Hkv * d.hd});
  const ops::MatmulTarget qkv[3] = {{&l.wq, &q, l.bq.data() ? &l.bq : nullptr},
                                    {&l.wk, &k, l.bk.data() ? &l.bk : nullptr},
                                    {&l.wv, &v, l.bv.data() ? &l.bv : nullptr}};
  ops::matmul_many(xn, qkv, pool);

  Tensor q3 = q.reshape({d.T, d.H, d.hd});
  Tensor k3 = k.reshape({d.T, d.Hkv, d.hd});
  ops::rope(q3, pos, a.rope);
  ops::rope(k3, pos, a.rope);
  if (!direct)
    kv.store(il, std::span<const std::int64_t>(a.cache_rows.data(), static_cast<std::size_t>(d.T)),
             k.data_as<float>(), v.data_as<float>());

  Tensor out3 = view(a.attn, {d.T, d.H, d.hd});
  const float scale = 1.0f / std::sqrt(static_cast<float>(d.hd));
  ops::paged_attention(q3, kv.layer(il), std::span<const ops::AttentionSpan>(a.spans.data(), static_cast<std::size_t>(d.T)),
                       scale, out3, pool);

  Tensor tmp = view(a.tmp, {d.T, d.D});
  ops::matmul(view(a.attn, {d.T, d.H * d.hd}), l.wo, tmp, pool);
  add_in_place(a.x.data_as<float>(), tmp.data_as<float>(), d.T * d.D);
}

void ffn_block(const ModelWeights& w, int il, Activations& a, ThreadPool& pool, const Dims& d) {
  const LayerWeights& l = w.layers[static_cast<std::size_t>(il)];
  Tensor xn = view(a.xn, {d.T, d.D});
  ops::rms_norm(view(a.x, {d.T, d.D}), l.ffn_norm, w.config.rms_eps, xn);
  Tensor gate = view(a.gate, {d.T, d.F});
  Tensor up = view(a.up, {d.T, d.F});
  const ops::MatmulTarget gu[2] = {{&l.gate, &gate}, {&l.up, &up}};
  ops::matmul_many(xn, gu, pool);
  ops::swiglu(gate, up, gate);
  Tensor tmp = view(a.tmp, {d.T, d.D});
  ops::matmul(gate, l.down, tmp, pool);
  add_in_place(a.x.data_as<float>(), tmp.data_as<float>(), d.T * d.D);
}

// Final norm and output projection of the rows in a.logit_rows: read in
// place when they are consecutive (the last row, or all), else gathered.
void output_block(const ModelWeights& w, Activations& a, ThreadPool& pool, const Dims& d, float* logits) {
  const auto rows = static_cast<std::int64_t>(a.logit_rows.size());
  const std::int64_t first = a.logit_rows.front();
  const float* src = a.x.data_as<float>() + first * d.D;
  if (a.logit_rows.back() - first + 1 != rows) {
    float* gathered = a.tmp.data_as<float>();
    for (std::int64_t i = 0; i < rows; ++i)
      std::copy_n(a.x.data_as<float>() + a.logit_rows[static_cast<std::size_t>(i)] * d.D, d.D, gathered + i * d.D);
    src = gathered;
  }
  const Tensor x = Tensor::borrow(DType::F32, {rows, d.D}, src);
  Tensor xn = view(a.xn, {rows, d.D});
  ops::rms_norm(x, w.output_norm, w.config.rms_eps, xn);
  Tensor y = Tensor::borrow(DType::F32, {rows, d.V}, logits);
  ops::matmul(xn, w.output, y, pool);
}

// Per row: its cache row, its attention span and whether its logits are
// wanted. True when the rows go to consecutive cache rows.
bool plan_rows(const Batch& b, int block_size, Activations& a) {
  a.logit_rows.clear();
  bool consecutive = true;
  for (std::size_t i = 0; i < b.size(); ++i) {
    const auto& blocks = b.block_tables[static_cast<std::size_t>(b.seq[i])];
    const std::int64_t pos = b.positions[i];
    a.cache_rows[i] = std::int64_t{blocks[static_cast<std::size_t>(pos / block_size)]} * block_size + pos % block_size;
    a.spans[i] = ops::AttentionSpan{blocks, 0, pos};
    if (b.wants_logits[i]) a.logit_rows.push_back(static_cast<std::int32_t>(i));
    consecutive = consecutive && a.cache_rows[i] == a.cache_rows[0] + static_cast<std::int64_t>(i);
  }
  return consecutive;
}

}  // namespace

Activations::Activations(const ModelWeights& w, int batch) : n_batch(batch) {
  const ModelConfig& c = w.config;
  const std::int64_t B = batch, D = c.n_embd, Q = std::int64_t{c.n_head} * c.head_dim,
                     KV = std::int64_t{c.n_head_kv} * c.head_dim, F = c.n_ff;
  x = Tensor::zeros(DType::F32, {B, D});
  xn = Tensor::zeros(DType::F32, {B, D});
  q = Tensor::zeros(DType::F32, {B, Q});
  k = Tensor::zeros(DType::F32, {B, KV});
  v = Tensor::zeros(DType::F32, {B, KV});
  attn = Tensor::zeros(DType::F32, {B, Q});
  tmp = Tensor::zeros(DType::F32, {B, D});
  gate = Tensor::zeros(DType::F32, {B, F});
  up = Tensor::zeros(DType::F32, {B, F});
  cache_rows.assign(static_cast<std::size_t>(B), 0);
  spans.assign(static_cast<std::size_t>(B), ops::AttentionSpan{});
  logit_rows.reserve(static_cast<std::size_t>(B));
  rope.n_rot = c.n_rot;
  rope.freq_base = c.rope_freq_base;
  rope.freq_scale = c.rope_freq_scale;
  rope.style = c.rope_neox ? ops::RopeStyle::neox : ops::RopeStyle::normal;
  rope.freq_factors = w.rope_freqs.data() ? w.rope_freqs.data_as<float>() : nullptr;
}

void forward(const ModelWeights& w, KvCache& kv, Activations& a, ThreadPool& pool, const Batch& batch,
             float* logits) {
  check_batch(batch, w.config.n_vocab, kv.block_size(), kv.n_blocks(), a.n_batch);
  const Dims d(w.config, static_cast<std::int64_t>(batch.size()));
  const bool direct = plan_rows(batch, kv.block_size(), a) && kv.is_f32();
  Tensor x = view(a.x, {d.T, d.D});
  ops::embedding(w.tok_embd, batch.tokens, x);
  for (int il = 0; il < w.config.n_layer; ++il) {
    attention_block(w, il, kv, a, pool, d, batch.positions, direct);
    ffn_block(w, il, a, pool, d);
  }
  if (!a.logit_rows.empty()) output_block(w, a, pool, d, logits);
}

}  // namespace cnai::model
