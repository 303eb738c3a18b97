#include "model/encoder.hpp"

#include <algorithm>
#include <cmath>

#include "cnai/ops/bidirectional_attention.hpp"
#include "cnai/ops/embedding.hpp"
#include "cnai/ops/gelu.hpp"
#include "cnai/ops/layer_norm.hpp"
#include "cnai/ops/matmul.hpp"
#include "cnai/ops/quantize.hpp"

namespace cnai::model {
namespace {

Tensor view(const Tensor& buf, const Shape& shape) { return Tensor::borrow(DType::F32, shape, buf.data()); }
Tensor rows_of(const Tensor& buf, std::int64_t first, std::int64_t n, std::int64_t width) {
  return Tensor::borrow(DType::F32, {n, width}, buf.data_as<float>() + first * width);
}

// The elementwise steps run over the pool too: with two cores, a serial GELU
// or LayerNorm would leave one idle for a noticeable share of the pass.
constexpr std::int64_t kRowGrain = 16;

void residual_layer_norm(Tensor& sum, const Tensor& x_in, const Tensor& w, const Tensor& b, float eps,
                         Tensor& x_out, std::int64_t T, std::int64_t D, ThreadPool& pool) {
  pool.parallel_for(T, kRowGrain, [&](std::int64_t r0, std::int64_t r1) {
    float* s = sum.data_as<float>() + r0 * D;
    const float* x = x_in.data_as<float>() + r0 * D;
    for (std::int64_t i = 0; i < (r1 - r0) * D; ++i) s[i] += x[i];
    const Tensor in = rows_of(sum, r0, r1 - r0, D);
    Tensor out = rows_of(x_out, r0, r1 - r0, D);
    ops::layer_norm(in, w, b, eps, out);
  });
}

void gelu_rows(Tensor& ff, std::int64_t T, std::int64_t F, ThreadPool& pool) {
  pool.parallel_for(T, kRowGrain, [&](std::int64_t r0, std::int64_t r1) {
    Tensor part = rows_of(ff, r0, r1 - r0, F);
    ops::gelu(part, part);
  });
}

const Tensor* bias(const Tensor& b) { return b.data() ? &b : nullptr; }

// Weight types whose matmul rounds the activations to Q8 blocks first.
bool rounds_activations(DType t) {
  return t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q4_1 || t == DType::Q8_0_R16 || t == DType::Q4_0_R16 ||
         t == DType::Q4_1_R16;
}

// r = x - Q8(x), with Q8 the kernels' per-32-block rounding (scale amax/127
// stored as f16, values rounded to nearest even): what one integer pass misses.
// Written so that the compiler vectorises it (partial maxima, rounding by the
// 1.5 * 2^23 trick, exact for |v| <= 127 as here).
void block_residual(const float* x, float* r) {
  float m[8] = {};
  for (int i = 0; i < 32; i += 8)
    for (int l = 0; l < 8; ++l) m[l] = std::max(m[l], std::abs(x[i + l]));
  float amax = 0.0f;
  for (float v : m) amax = std::max(amax, v);
  const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
  const float stored = ops::f16_to_f32(ops::f32_to_f16(d));
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23
  for (int i = 0; i < 32; ++i) {
    const float q = (x[i] * id + kRound) - kRound;
    r[i] = x[i] - q * stored;
  }
}

void rounding_residual(const Tensor& x, Tensor& r, ThreadPool& pool) {
  const std::int64_t K = x.dim(-1);
  pool.parallel_for(x.rows(), kRowGrain, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t row = r0; row < r1; ++row)
      for (std::int64_t b = 0; b + 32 <= K; b += 32)
        block_residual(x.data_as<float>() + row * K + b, r.data_as<float>() + row * K + b);
  });
}

// y_i = W_i x (+ b_i) for each target; with precise activations and integer
// weights, plus W_i r for the rounding residual r of x.
void linear(EncoderScratch& s, const Tensor& x, std::span<const ops::MatmulTarget> targets, bool precise,
            ThreadPool& pool) {
  ops::matmul_many(x, targets, pool);
  if (!precise || !rounds_activations(targets[0].w->dtype()) || x.dim(-1) % 32 != 0) return;
  const std::int64_t T = x.rows(), K = x.dim(-1);
  Tensor r = Tensor::borrow(DType::F32, {T, K}, s.residual.data());
  rounding_residual(x, r, pool);
  std::vector<Tensor> extras;
  std::vector<ops::MatmulTarget> second;
  float* base = s.extra.data_as<float>();
  for (const ops::MatmulTarget& t : targets) {
    extras.push_back(Tensor::borrow(DType::F32, {T, t.w->dim(0)}, base));
    base += T * t.w->dim(0);
  }
  for (std::size_t i = 0; i < targets.size(); ++i) second.push_back({targets[i].w, &extras[i], nullptr});
  ops::matmul_many(r, second, pool);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    float* y = targets[i].y->data_as<float>();
    const float* e = extras[i].data_as<float>();
    const std::int64_t n = T * targets[i].w->dim(0);
    for (std::int64_t j = 0; j < n; ++j) y[j] += e[j];
  }
}

void embed_tokens(const EncoderWeights& w, EncoderScratch& s, ThreadPool& pool, std::int64_t T) {
  const std::int64_t D = w.config.n_embd;
  Tensor x = view(s.x, {T, D});
  Tensor pos = view(s.tmp, {T, D});
  ops::embedding(w.tok_embd, s.ids, x);
  ops::embedding(w.pos_embd, s.positions, pos);
  const float* type = w.type_row.data_as<float>();
  pool.parallel_for(T, kRowGrain, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      float* xr = x.data_as<float>() + r * D;
      const float* pr = pos.data_as<float>() + r * D;
      for (std::int64_t i = 0; i < D; ++i) xr[i] += pr[i] + type[i];
      Tensor row = rows_of(x, r, 1, D);
      ops::layer_norm(row, w.embd_norm_w, w.embd_norm_b, w.config.norm_eps, row);
    }
  });
}

void encoder_layer(const EncoderWeights& w, const EncoderLayerWeights& l, EncoderScratch& s, ThreadPool& pool,
                   std::int64_t T) {
  const EncoderConfig& c = w.config;
  const std::int64_t D = c.n_embd, H = c.n_head, Hkv = c.n_head_kv, hd = c.head_dim, F = c.n_ff;
  Tensor x = view(s.x, {T, D});
  Tensor q = view(s.q, {T, D}), k = view(s.k, {T, Hkv * hd}), v = view(s.v, {T, Hkv * hd});
  const bool precise = w.precise_activations;
  const ops::MatmulTarget qkv[3] = {{&l.wq, &q, bias(l.bq)}, {&l.wk, &k, bias(l.bk)}, {&l.wv, &v, bias(l.bv)}};
  linear(s, x, qkv, precise, pool);
  Tensor attn = view(s.attn, {T, H, hd});
  ops::bidirectional_attention(q.reshape({T, H, hd}), k.reshape({T, Hkv, hd}), v.reshape({T, Hkv, hd}), s.starts,
                               1.0f / std::sqrt(static_cast<float>(hd)), attn, pool);
  Tensor tmp = view(s.tmp, {T, D});
  const ops::MatmulTarget out[1] = {{&l.wo, &tmp, bias(l.bo)}};
  linear(s, view(s.attn, {T, D}), out, precise, pool);
  residual_layer_norm(tmp, x, l.attn_norm_w, l.attn_norm_b, c.norm_eps, x, T, D, pool);

  Tensor ff = view(s.ff, {T, F});
  const ops::MatmulTarget up[1] = {{&l.up, &ff, bias(l.up_b)}};
  linear(s, x, up, precise, pool);
  gelu_rows(ff, T, F, pool);
  const ops::MatmulTarget down[1] = {{&l.down, &tmp, bias(l.down_b)}};
  linear(s, ff, down, precise, pool);
  residual_layer_norm(tmp, x, l.out_norm_w, l.out_norm_b, c.norm_eps, x, T, D, pool);
}

void pool_sequence(const EncoderConfig& c, const float* x, std::int64_t first, std::int64_t n, float* out) {
  const std::int64_t D = c.n_embd;
  if (c.pooling == Pooling::mean) {
    std::fill(out, out + D, 0.0f);
    for (std::int64_t r = first; r < first + n; ++r)
      for (std::int64_t i = 0; i < D; ++i) out[i] += x[r * D + i];
    for (std::int64_t i = 0; i < D; ++i) out[i] /= static_cast<float>(n);
  } else {
    const std::int64_t r = c.pooling == Pooling::cls ? first : first + n - 1;
    std::copy(x + r * D, x + (r + 1) * D, out);
  }
  if (c.normalize) {
    double ss = 0;
    for (std::int64_t i = 0; i < D; ++i) ss += double(out[i]) * out[i];
    // As sentence-transformers' Normalize (torch's F.normalize): divide by max(norm, 1e-12).
    const float inv = static_cast<float>(1.0 / std::max(std::sqrt(ss), 1e-12));
    for (std::int64_t i = 0; i < D; ++i) out[i] *= inv;
  }
}

}  // namespace

void EncoderScratch::fit(const EncoderConfig& c, std::int64_t tokens) {
  if (tokens <= capacity) return;
  const std::int64_t B = std::max<std::int64_t>(tokens, 64), D = c.n_embd,
                     KV = std::int64_t{c.n_head_kv} * c.head_dim;
  x = Tensor::empty(DType::F32, {B, D});
  q = Tensor::empty(DType::F32, {B, D});
  k = Tensor::empty(DType::F32, {B, KV});
  v = Tensor::empty(DType::F32, {B, KV});
  attn = Tensor::empty(DType::F32, {B, D});
  tmp = Tensor::empty(DType::F32, {B, D});
  ff = Tensor::empty(DType::F32, {B, c.n_ff});
  const std::int64_t widest = std::max<std::int64_t>(D, c.n_ff);
  residual = Tensor::empty(DType::F32, {B, widest});
  extra = Tensor::empty(DType::F32, {B, std::max(D + 2 * KV, widest)});
  capacity = B;
}

void encode_batch(const EncoderWeights& w, EncoderScratch& s, ThreadPool& pool,
                  std::span<const std::span<const std::int32_t>> sequences, float* out) {
  s.ids.clear();
  s.positions.clear();
  s.starts.assign(1, 0);
  for (const auto& seq : sequences) {
    s.ids.insert(s.ids.end(), seq.begin(), seq.end());
    for (std::size_t p = 0; p < seq.size(); ++p) s.positions.push_back(static_cast<std::int32_t>(p));
    s.starts.push_back(static_cast<std::int64_t>(s.ids.size()));
  }
  const auto T = static_cast<std::int64_t>(s.ids.size());
  s.fit(w.config, T);
  embed_tokens(w, s, pool, T);
  for (const EncoderLayerWeights& l : w.layers) encoder_layer(w, l, s, pool, T);
  const std::int64_t D = w.config.n_embd;
  for (std::size_t i = 0; i < sequences.size(); ++i)
    pool_sequence(w.config, s.x.data_as<float>(), s.starts[i], s.starts[i + 1] - s.starts[i],
                  out + static_cast<std::int64_t>(i) * D);
}

}  // namespace cnai::model
