// The config and weights of a BERT-family encoder, borrowed from the GGUF
// mapping with every tensor's shape checked at load (llama.cpp's names:
// token_embd, position_embd, token_types, token_embd_norm, blk.N.attn_{q,k,v,output},
// attn_output_norm, ffn_{up,down}, layer_output_norm).
#pragma once

#include <memory>
#include <vector>

#include "cnai/gguf/gguf.hpp"
#include "cnai/model/encoder.hpp"
#include "cnai/tensor/tensor.hpp"

namespace cnai::model {

struct EncoderLayerWeights {
  Tensor wq, wk, wv, wo;            // [D, D] ([Hkv*hd, D] for k, v)
  Tensor bq, bk, bv, bo;            // F32 biases, undefined when the file has none
  Tensor attn_norm_w, attn_norm_b;  // F32 [D]: LayerNorm after attention + residual
  Tensor up, down;                  // [F, D], [D, F]
  Tensor up_b, down_b;              // F32 [F], [D] or undefined
  Tensor out_norm_w, out_norm_b;    // F32 [D]: LayerNorm after the FFN + residual
};

struct EncoderWeights {
  EncoderConfig config;
  Tensor tok_embd;                  // [V, D], any type the embedding op reads
  Tensor pos_embd;                  // [n_ctx_train, D]
  Tensor type_row;                  // F32 [D]: token type 0 (every input is "sentence A"), or zeros
  Tensor embd_norm_w, embd_norm_b;  // F32 [D]
  std::vector<EncoderLayerWeights> layers;
  bool precise_activations = true;  // EncoderOptions::precise_activations
};

/// Error(model_format) naming a missing or inconsistent key; Error(unsupported)
/// for a decoder architecture, causal attention or an unknown pooling type.
EncoderConfig read_encoder_config(const GgufReader& gguf, const EncoderOptions& options);

/// Errors as read_encoder_config, plus model_format for a missing tensor or a
/// wrong shape. Matrices are repacked for the matmul kernels (and their file
/// pages released) as the decoder's are.
std::unique_ptr<EncoderWeights> load_encoder_weights(const GgufReader& gguf, const EncoderConfig& config,
                                                     const EncoderOptions& options);

}  // namespace cnai::model
