#include "model/transformer.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

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

// Stores the batch's keys and values (unless `stored`) and attends. A local
// (sliding-window) layer writes into its ring of blocks (plan_local); when a
// sequence's rows in this batch would overwrite positions an earlier row still
// reads, rows are stored and attended one at a time, in order.
void store_and_attend(KvCache& kv, int il, Activations& a, ThreadPool& pool, const Dims& d, bool local,
                      bool stored, const Tensor& q3, float scale) {
  const std::vector<std::int64_t>& rows = local ? a.local_rows : a.cache_rows;
  const std::vector<ops::AttentionSpan>& spans = local ? a.local_spans : a.spans;
  const std::int64_t row_q = d.H * d.hd, row_kv = d.Hkv * d.hd;
  const std::int64_t step = local && !a.local_one_piece ? 1 : d.T;
  for (std::int64_t s = 0; s < d.T; s += step) {
    const std::int64_t n = std::min(step, d.T - s);
    if (!stored)
      kv.store(il, std::span<const std::int64_t>(rows.data() + s, static_cast<std::size_t>(n)),
               a.k.data_as<float>() + s * row_kv, a.v.data_as<float>() + s * row_kv);
    const Tensor qs = Tensor::borrow(DType::F32, {n, d.H, d.hd}, q3.data_as<float>() + s * row_q);
    Tensor out = Tensor::borrow(DType::F32, {n, d.H, d.hd}, a.attn.data_as<float>() + s * row_q);
    ops::paged_attention(qs, kv.layer(il), std::span<const ops::AttentionSpan>(spans.data() + s, static_cast<std::size_t>(n)),
                         scale, out, pool, a.batch_invariant);
  }
}

void attention_block(const ModelWeights& w, int il, KvCache& kv, Activations& a, ThreadPool& pool,
                     const Dims& d, std::span<const std::int32_t> pos, bool consecutive) {
  const LayerWeights& l = w.layers[static_cast<std::size_t>(il)];
  const ModelConfig& c = w.config;
  const bool local = c.is_local_layer(il);
  const bool direct = consecutive && !local;  // a local layer's rows wrap around its ring
  const Tensor x = view(a.x, {d.T, d.D});
  Tensor xn = view(a.xn, {d.T, d.D});
  ops::rms_norm(x, l.attn_norm, c.rms_eps, xn);

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
  if (c.qk_norm) {
    norm_heads(q, l.q_norm, c.rms_eps, d.H, d.hd);
    norm_heads(k, l.k_norm, c.rms_eps, d.Hkv, d.hd);
  }

  Tensor q3 = q.reshape({d.T, d.H, d.hd});
  Tensor k3 = k.reshape({d.T, d.Hkv, d.hd});
  const ops::RopeParams& rope = local ? a.rope_local : a.rope;
  ops::rope(q3, pos, rope);
  ops::rope(k3, pos, rope);

  // Longrope's attn_factor scales cos and sin, so q·k by its square.
  const float scale = (c.attn_scale > 0.0f ? c.attn_scale : 1.0f / std::sqrt(static_cast<float>(d.hd))) *
                      c.rope_attn_factor * c.rope_attn_factor;
  store_and_attend(kv, il, a, pool, d, local, direct, q3, scale);

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

// Sliding-window layers keep each sequence's keys in a ring of its first
// ceil(window / block_size) blocks: a ring table repeats them, so position p
// lives in row ring[p / bs] * bs + p % bs and a local layer never holds more
// than the window (rounded up to whole blocks). Rows attend to (p - window, p].
void plan_local(const Batch& b, int block_size, int window, Activations& a) {
  const std::int64_t ring_blocks = (window + block_size - 1) / block_size;
  a.ring_tables.resize(b.block_tables.size());
  for (std::size_t s = 0; s < b.block_tables.size(); ++s) {
    const auto& blocks = b.block_tables[s];
    const std::size_t kb = std::min<std::size_t>(blocks.size(), static_cast<std::size_t>(ring_blocks));
    auto& ring = a.ring_tables[s];
    ring.resize(blocks.size());
    for (std::size_t j = 0; j < blocks.size(); ++j) ring[j] = blocks[j % kb];
  }
  // One store-then-attend pass is safe when, per sequence, the batch's newest
  // row and the oldest row any of its rows reads are less than a ring apart.
  a.local_one_piece = true;
  std::vector<std::int64_t>& lo = a.seq_lo;
  std::vector<std::int64_t>& hi = a.seq_hi;
  lo.assign(b.block_tables.size(), INT64_MAX);
  hi.assign(b.block_tables.size(), -1);
  for (std::size_t i = 0; i < b.size(); ++i) {
    const auto s = static_cast<std::size_t>(b.seq[i]);
    const std::int64_t pos = b.positions[i];
    const std::span<const std::int32_t> ring(a.ring_tables[s]);
    a.local_rows[i] = std::int64_t{ring[static_cast<std::size_t>(pos / block_size)]} * block_size + pos % block_size;
    const std::int64_t first = std::max<std::int64_t>(0, pos - window + 1);
    a.local_spans[i] = ops::AttentionSpan{ring, first, pos};
    lo[s] = std::min(lo[s], first);
    hi[s] = std::max(hi[s], pos);
  }
  for (std::size_t s = 0; s < b.block_tables.size(); ++s) {
    const std::int64_t kb = std::min<std::int64_t>(static_cast<std::int64_t>(b.block_tables[s].size()), ring_blocks);
    if (hi[s] >= 0 && hi[s] - lo[s] >= kb * block_size &&
        static_cast<std::int64_t>(b.block_tables[s].size()) > ring_blocks)
      a.local_one_piece = false;
  }
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
  rope_local = rope;  // local (sliding-window) layers: their own base, no scaling
  rope_local.freq_base = c.rope_freq_base_swa;
  rope_local.freq_scale = 1.0f;
  local_rows.assign(static_cast<std::size_t>(B), 0);
  local_spans.assign(static_cast<std::size_t>(B), ops::AttentionSpan{});
}

void forward(const ModelWeights& w, KvCache& kv, Activations& a, ThreadPool& pool, const Batch& batch,
             float* logits) {
  check_batch(batch, w.config.n_vocab, kv.block_size(), kv.n_blocks(), a.n_batch);
  const Dims d(w.config, static_cast<std::int64_t>(batch.size()));
  const bool direct = plan_rows(batch, kv.block_size(), a) && kv.is_f32();
  if (w.config.sliding_window > 0) plan_local(batch, kv.block_size(), w.config.sliding_window, a);
  Tensor x = view(a.x, {d.T, d.D});
  ops::embedding(w.tok_embd, batch.tokens, x);
  if (w.config.embd_scale != 1.0f)
    for (std::int64_t i = 0; i < d.T * d.D; ++i) x.data_as<float>()[i] *= w.config.embd_scale;
  for (int il = 0; il < w.config.n_layer; ++il) {
    attention_block(w, il, kv, a, pool, d, batch.positions, direct);
    ffn_block(w, il, a, pool, d);
  }
  if (!a.logit_rows.empty()) output_block(w, a, pool, d, logits);
}

}  // namespace cnai::model
