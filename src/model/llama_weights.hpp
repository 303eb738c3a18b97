// The weights of a Llama-family model (fused tensors split into row views),
// borrowed in place from the GGUF mapping
// (1-D norms/biases are converted to F32 once if stored otherwise), with every
// tensor's shape checked against the config at load.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "cnai/gguf/gguf.hpp"
#include "cnai/model/model.hpp"
#include "cnai/tensor/tensor.hpp"

namespace cnai::model {

struct LayerWeights {
  Tensor attn_norm;          // F32 [D]
  Tensor wq, wk, wv, wo;     // [H*hd, D], [Hkv*hd, D] x2, [D, H*hd]
  Tensor bq, bk, bv;         // F32 biases (qwen2), undefined otherwise
  Tensor q_norm, k_norm;     // F32 [hd] per-head norms (qwen3, gemma3), undefined otherwise
  Tensor post_attn_norm;     // F32 [D] (gemma3), undefined otherwise
  Tensor ffn_norm;           // F32 [D]
  Tensor gate, up, down;     // [F, D], [F, D], [D, F]
  Tensor post_ffn_norm;      // F32 [D] (gemma3), undefined otherwise
};

struct ModelWeights {
  ModelConfig config;
  Tensor tok_embd;           // [V, D]
  Tensor output_norm;        // F32 [D]
  Tensor output;             // [V, D] (tok_embd when tied)
  Tensor rope_freqs;         // F32 [n_rot/2] (rope_freqs, phi3's short or long factors) or undefined
  std::vector<LayerWeights> layers;
};

/// Error(model_format) naming a missing tensor or a wrong shape;
/// Error(unsupported) for a matrix type with no matmul kernel. Matrices are
/// repacked for the CPU kernels where that pays (ops::pack_for_matmul); with
/// file_mapped (gguf maps a file) the original pages are then released.
std::unique_ptr<ModelWeights> load_weights(const GgufReader& gguf, const ModelConfig& config, bool file_mapped,
                                           bool repack = true);

}  // namespace cnai::model
