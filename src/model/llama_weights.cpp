#include "model/llama_weights.hpp"

#include <string>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/ops/matmul.hpp"
#include "cnai/ops/quantize.hpp"
#include "model/weight_tensors.hpp"

namespace cnai::model {
namespace {

LayerWeights load_layer(const GgufReader& g, const ModelConfig& c, int i) {
  const std::string p = "blk." + std::to_string(i) + ".";
  const std::int64_t D = c.n_embd, Q = std::int64_t{c.n_head} * c.head_dim,
                     KV = std::int64_t{c.n_head_kv} * c.head_dim, F = c.n_ff;
  LayerWeights l;
  l.attn_norm = vector_f32(g, p + "attn_norm.weight", D);
  if (c.fused_qkv) {  // rows [Q | K | V]: three views of one matrix
    const Tensor qkv = matrix_tensor(g, p + "attn_qkv.weight", Q + 2 * KV, D);
    l.wq = qkv.slice_rows(0, Q);
    l.wk = qkv.slice_rows(Q, Q + KV);
    l.wv = qkv.slice_rows(Q + KV, Q + 2 * KV);
  } else {
    l.wq = matrix_tensor(g, p + "attn_q.weight", Q, D);
    l.wk = matrix_tensor(g, p + "attn_k.weight", KV, D);
    l.wv = matrix_tensor(g, p + "attn_v.weight", KV, D);
  }
  l.wo = matrix_tensor(g, p + "attn_output.weight", D, Q);
  if (c.qk_norm) {
    l.q_norm = vector_f32(g, p + "attn_q_norm.weight", c.head_dim);
    l.k_norm = vector_f32(g, p + "attn_k_norm.weight", c.head_dim);
  }
  if (c.post_norms) {
    l.post_attn_norm = vector_f32(g, p + "post_attention_norm.weight", D);
    l.post_ffn_norm = vector_f32(g, p + "post_ffw_norm.weight", D);
  }
  if (c.qkv_bias) {
    l.bq = vector_f32(g, p + "attn_q.bias", Q);
    l.bk = vector_f32(g, p + "attn_k.bias", KV);
    l.bv = vector_f32(g, p + "attn_v.bias", KV);
  }
  l.ffn_norm = vector_f32(g, p + "ffn_norm.weight", D);
  if (c.fused_gate_up) {  // rows [gate | up]
    const Tensor gu = matrix_tensor(g, p + "ffn_up.weight", 2 * F, D);
    l.gate = gu.slice_rows(0, F);
    l.up = gu.slice_rows(F, 2 * F);
  } else {
    l.gate = matrix_tensor(g, p + "ffn_gate.weight", F, D);
    l.up = matrix_tensor(g, p + "ffn_up.weight", F, D);
  }
  l.down = matrix_tensor(g, p + "ffn_down.weight", D, F);
  return l;
}

// A repacked matrix gives its file pages back (release_file_pages; the file
// stays in the page cache), so packing does not double the resident weights.
// Only for file mappings: there the pages re-read the file.
// All matrices in one allocation (huge pages); each source's pages are
// released as soon as it is packed, the largest (the output) first, so memory
// peaks at the packed total plus one small source matrix.
void pack_matrices(ModelWeights& w, bool file_mapped) {
  const bool tied = w.output.data() == w.tok_embd.data();
  std::vector<Tensor*> ts{&w.output};
  for (LayerWeights& l : w.layers)
    for (Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.gate, &l.up, &l.down}) ts.push_back(t);
  const std::vector<const Tensor*> sources(ts.begin(), ts.end());
  std::vector<Tensor> packed = ops::pack_for_matmul(sources, [&](const Tensor& src) {
    if (file_mapped) release_file_pages(src);
  });
  for (std::size_t i = 0; i < ts.size(); ++i) *ts[i] = std::move(packed[i]);
  if (tied) w.tok_embd = w.output;  // the embedding op reads packed rows too
}

}  // namespace

std::unique_ptr<ModelWeights> load_weights(const GgufReader& g, const ModelConfig& c, bool file_mapped, bool repack) {
  auto w = std::make_unique<ModelWeights>();
  w->config = c;
  w->tok_embd = matrix_tensor(g, "token_embd.weight", c.n_vocab, c.n_embd);
  w->output_norm = vector_f32(g, "output_norm.weight", c.n_embd);
  w->output = c.tied_output ? w->tok_embd : matrix_tensor(g, "output.weight", c.n_vocab, c.n_embd);
  if (c.has_rope_freqs) w->rope_freqs = vector_f32(g, c.rope_factors_tensor, c.n_rot / 2);
  w->layers.reserve(static_cast<std::size_t>(c.n_layer));
  for (int i = 0; i < c.n_layer; ++i) w->layers.push_back(load_layer(g, c, i));
  if (repack) pack_matrices(*w, file_mapped);  // ModelOptions::repack
  return w;
}

}  // namespace cnai::model
