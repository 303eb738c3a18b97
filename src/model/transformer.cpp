#include "model/transformer.hpp"

#include <cmath>

#include "cnai/ops/attention.hpp"
#include "cnai/ops/embedding.hpp"
#include "cnai/ops/geglu.hpp"
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

// RMSNorm over each head of a [T, heads * hd] projection, in place (QK-norm).
void norm_heads(Tensor& t, const Tensor& weight, float eps, std::int64_t heads, std::int64_t hd) {
  Tensor rows = t.reshape({t.rows() * heads, hd});
  ops::rms_norm(rows, weight, eps, rows);
}

// Attention of the batch's tokens over the cache. A ring (sliding-window) layer
// stores and attends in pieces small enough that no token's window has been
// overwritten: one piece until the window fills, then one token at a time.
void attend(const ModelWeights& w, int il, KvCache& kv, Activations& a, ThreadPool& pool, const Dims& d,
            std::int64_t pos0, bool stored, const Tensor& q3, float scale) {
  const ModelConfig& c = w.config;
  const std::int64_t window = c.is_local_layer(il) ? c.sliding_window : 0, cap = kv.k(il).dim(0);
  const std::int64_t row_q = d.H * d.hd, row_kv = d.Hkv * d.hd;
  for (std::int64_t s = 0; s < d.T;) {
    std::int64_t e = d.T;
    if (kv.is_ring(il)) e = std::min(d.T, std::max(s + 1, std::max<std::int64_t>(0, pos0 + s - window + 1) + cap - pos0));
    if (!stored) kv.store(il, pos0 + s, e - s, a.k.data_as<float>() + s * row_kv, a.v.data_as<float>() + s * row_kv);
    const Tensor qs = Tensor::borrow(DType::F32, {e - s, d.H, d.hd}, q3.data_as<float>() + s * row_q);
    Tensor out = Tensor::borrow(DType::F32, {e - s, d.H, d.hd}, a.attn.data_as<float>() + s * row_q);
    ops::attention(qs, kv.k(il), kv.v(il), pos0 + s, scale, out, pool, window);
    s = e;
  }
}

void attention_block(const ModelWeights& w, int il, KvCache& kv, Activations& a, ThreadPool& pool,
                     const Dims& d, std::int64_t pos0) {
  const LayerWeights& l = w.layers[static_cast<std::size_t>(il)];
  const ModelConfig& c = w.config;
  const Tensor x = view(a.x, {d.T, d.D});
  Tensor xn = view(a.xn, {d.T, d.D});
  ops::rms_norm(x, l.attn_norm, c.rms_eps, xn);

  // An F32 cache receives K and V straight from the projections (not a ring: rows wrap).
  const bool direct = kv.is_f32() && !kv.is_ring(il);
  Tensor q = view(a.q, {d.T, d.H * d.hd});
  Tensor k = direct ? kv.k_rows(il, pos0, d.T).reshape({d.T, d.Hkv * d.hd}) : view(a.k, {d.T, d.Hkv * d.hd});
  Tensor v = direct ? kv.v_rows(il, pos0, d.T).reshape({d.T, d.Hkv * d.hd}) : view(a.v, {d.T, d.Hkv * d.hd});
  const ops::MatmulTarget qkv[3] = {{&l.wq, &q, l.bq.data() ? &l.bq : nullptr},
                                    {&l.wk, &k, l.bk.data() ? &l.bk : nullptr},
                                    {&l.wv, &v, l.bv.data() ? &l.bv : nullptr}};
  ops::matmul_many(xn, qkv, pool);
  if (c.qk_norm) {
    norm_heads(q, l.q_norm, c.rms_eps, d.H, d.hd);
    norm_heads(k, l.k_norm, c.rms_eps, d.Hkv, d.hd);
  }

  const std::span<const std::int32_t> pos(a.positions.data(), static_cast<std::size_t>(d.T));
  Tensor q3 = q.reshape({d.T, d.H, d.hd});
  Tensor k3 = k.reshape({d.T, d.Hkv, d.hd});
  const ops::RopeParams& rope = c.is_local_layer(il) ? a.rope_local : a.rope;
  ops::rope(q3, pos, rope);
  ops::rope(k3, pos, rope);

  // Longrope's attn_factor scales cos and sin, so q·k by its square.
  const float scale = (c.attn_scale > 0.0f ? c.attn_scale : 1.0f / std::sqrt(static_cast<float>(d.hd))) *
                      c.rope_attn_factor * c.rope_attn_factor;
  attend(w, il, kv, a, pool, d, pos0, direct, q3, scale);

  Tensor tmp = view(a.tmp, {d.T, d.D});
  ops::matmul(view(a.attn, {d.T, d.H * d.hd}), l.wo, tmp, pool);
  if (c.post_norms) ops::rms_norm(tmp, l.post_attn_norm, c.rms_eps, tmp);
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
  if (w.config.gelu_ffn) ops::geglu(gate, up, gate);
  else ops::swiglu(gate, up, gate);
  Tensor tmp = view(a.tmp, {d.T, d.D});
  ops::matmul(gate, l.down, tmp, pool);
  if (w.config.post_norms) ops::rms_norm(tmp, l.post_ffn_norm, w.config.rms_eps, tmp);
  add_in_place(a.x.data_as<float>(), tmp.data_as<float>(), d.T * d.D);
}

// Final norm and output projection: every row, or only the last one.
void output_block(const ModelWeights& w, Activations& a, ThreadPool& pool, const Dims& d, float* logits,
                  bool all_logits) {
  const std::int64_t rows = all_logits ? d.T : 1;
  const std::int64_t first = d.T - rows;
  const Tensor x = Tensor::borrow(DType::F32, {rows, d.D}, a.x.data_as<float>() + first * d.D);
  Tensor xn = view(a.xn, {rows, d.D});
  ops::rms_norm(x, w.output_norm, w.config.rms_eps, xn);
  Tensor y = Tensor::borrow(DType::F32, {rows, d.V}, logits);
  ops::matmul(xn, w.output, y, pool);
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
  positions.assign(static_cast<std::size_t>(B), 0);
  rope.n_rot = c.n_rot;
  rope.freq_base = c.rope_freq_base;
  rope.freq_scale = c.rope_freq_scale;
  rope.style = c.rope_neox ? ops::RopeStyle::neox : ops::RopeStyle::normal;
  rope.freq_factors = w.rope_freqs.data() ? w.rope_freqs.data_as<float>() : nullptr;
  rope_local = rope;  // local (sliding-window) layers: their own base, no scaling
  rope_local.freq_base = c.rope_freq_base_swa;
  rope_local.freq_scale = 1.0f;
}

void forward_batch(const ModelWeights& w, KvCache& kv, Activations& a, ThreadPool& pool,
                   std::span<const std::int32_t> tokens, std::int64_t pos0, float* logits,
                   bool all_logits) {
  const Dims d(w.config, static_cast<std::int64_t>(tokens.size()));
  for (std::int64_t i = 0; i < d.T; ++i) a.positions[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(pos0 + i);
  Tensor x = view(a.x, {d.T, d.D});
  ops::embedding(w.tok_embd, tokens, x);
  if (w.config.embd_scale != 1.0f)
    for (std::int64_t i = 0; i < d.T * d.D; ++i) x.data_as<float>()[i] *= w.config.embd_scale;
  for (int il = 0; il < w.config.n_layer; ++il) {
    attention_block(w, il, kv, a, pool, d, pos0);
    ffn_block(w, il, a, pool, d);
  }
  if (logits) output_block(w, a, pool, d, logits, all_logits);
}

}  // namespace cnai::model
