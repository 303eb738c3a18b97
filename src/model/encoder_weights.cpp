#include "model/encoder_weights.hpp"

#include <string>

#include "cnai/core/error.hpp"
#include "cnai/ops/matmul.hpp"
#include "cnai/ops/quantize.hpp"
#include "model/weight_tensors.hpp"

namespace cnai::model {
namespace {

// A bias llama.cpp treats as optional (TENSOR_NOT_REQUIRED): undefined when absent.
Tensor optional_bias(const GgufReader& g, const std::string& name, std::int64_t n) {
  return g.find_tensor(name) ? vector_f32(g, name, n) : Tensor();
}

EncoderLayerWeights load_layer(const GgufReader& g, const EncoderConfig& c, int i) {
  const std::string p = "blk." + std::to_string(i) + ".";
  const std::int64_t D = c.n_embd, KV = std::int64_t{c.n_head_kv} * c.head_dim, F = c.n_ff;
  EncoderLayerWeights l;
  l.wq = matrix_tensor(g, p + "attn_q.weight", D, D);
  l.wk = matrix_tensor(g, p + "attn_k.weight", KV, D);
  l.wv = matrix_tensor(g, p + "attn_v.weight", KV, D);
  l.wo = matrix_tensor(g, p + "attn_output.weight", D, D);
  l.bq = optional_bias(g, p + "attn_q.bias", D);
  l.bk = optional_bias(g, p + "attn_k.bias", KV);
  l.bv = optional_bias(g, p + "attn_v.bias", KV);
  l.bo = optional_bias(g, p + "attn_output.bias", D);
  l.attn_norm_w = vector_f32(g, p + "attn_output_norm.weight", D);
  l.attn_norm_b = vector_f32(g, p + "attn_output_norm.bias", D);
  l.up = matrix_tensor(g, p + "ffn_up.weight", F, D);
  l.up_b = optional_bias(g, p + "ffn_up.bias", F);
  l.down = matrix_tensor(g, p + "ffn_down.weight", D, F);
  l.down_b = optional_bias(g, p + "ffn_down.bias", D);
  l.out_norm_w = vector_f32(g, p + "layer_output_norm.weight", D);
  l.out_norm_b = vector_f32(g, p + "layer_output_norm.bias", D);
  return l;
}

// Every input is segment A, so only row 0 of the token-type table is ever added.
Tensor type_row_zero(const GgufReader& g, std::int64_t D) {
  Tensor row = Tensor::zeros(DType::F32, Shape{D});
  const GgufTensorInfo* info = g.find_tensor("token_types.weight");
  if (!info) return row;
  if (info->shape.rank() != 2 || info->shape[1] != D || info->shape[0] < 1)
    throw Error(ErrorCode::model_format, "tensor 'token_types.weight' has shape " + info->shape.str() +
                                             ", expected [n_types, " + std::to_string(D) + "]");
  ops::dequantize_row(info->dtype, g.tensor(*info).data(), row.data_as<float>(), D);
  return row;
}

// The embedding op dequantizes table rows when it gathers them: check the type once here.
Tensor gather_table(const GgufReader& g, const std::string& name, std::int64_t rows, std::int64_t D) {
  const GgufTensorInfo& info = g.tensor_info(name);
  check_shape(info, Shape{rows, D});
  Tensor t = g.tensor(info);
  std::vector<float> row(static_cast<std::size_t>(D));
  try {
    ops::dequantize_row(info.dtype, t.row_ptr(0), row.data(), D);
  } catch (const Error&) {
    throw Error(ErrorCode::unsupported, "tensor '" + name + "' has type " + std::string(to_string(info.dtype)) +
                                            ", which cnai cannot gather rows of");
  }
  return t;
}

void pack_matrices(EncoderWeights& w) {
  std::vector<Tensor*> ts;
  for (EncoderLayerWeights& l : w.layers)
    for (Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.up, &l.down}) ts.push_back(t);
  const std::vector<const Tensor*> sources(ts.begin(), ts.end());
  std::vector<Tensor> packed = ops::pack_for_matmul(sources, [](const Tensor& src) { release_file_pages(src); });
  for (std::size_t i = 0; i < ts.size(); ++i) *ts[i] = std::move(packed[i]);
}

}  // namespace

std::unique_ptr<EncoderWeights> load_encoder_weights(const GgufReader& g, const EncoderConfig& c,
                                                     const EncoderOptions& options) {
  auto w = std::make_unique<EncoderWeights>();
  w->config = c;
  w->precise_activations = options.precise_activations;
  const std::int64_t D = c.n_embd;
  w->tok_embd = gather_table(g, "token_embd.weight", c.n_vocab, D);
  w->pos_embd = gather_table(g, "position_embd.weight", c.n_ctx_train, D);
  w->type_row = type_row_zero(g, D);
  w->embd_norm_w = vector_f32(g, "token_embd_norm.weight", D);
  w->embd_norm_b = vector_f32(g, "token_embd_norm.bias", D);
  // block_count comes from the file: check its last block exists before reserving
  // room for all (a hostile count must not allocate gigabytes).
  g.tensor_info("blk." + std::to_string(c.n_layer - 1) + ".attn_q.weight");
  w->layers.reserve(static_cast<std::size_t>(c.n_layer));
  for (int i = 0; i < c.n_layer; ++i) w->layers.push_back(load_layer(g, c, i));
  if (options.repack) pack_matrices(*w);
  return w;
}

}  // namespace cnai::model
