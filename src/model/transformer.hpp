// The shared Llama-family decoder: embedding, n_layer x (attention + SwiGLU FFN)
// with pre-RMSNorm and residuals, final norm, output projection. Architectures
// differ only in what their ArchSpec/ModelConfig says (rope style, biases, QK-norm,
// post-norms, GeGLU, embedding scale, sliding-window layers).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cnai/core/thread_pool.hpp"
#include "cnai/ops/rope.hpp"
#include "model/kv_cache.hpp"
#include "model/llama_weights.hpp"

namespace cnai::model {

/// Activation buffers for batches of up to n_batch tokens, allocated once.
struct Activations {
  Activations(const ModelWeights& w, int n_batch);
  int n_batch;
  Tensor x, xn, q, k, v, attn, tmp, gate, up;
  std::vector<std::int32_t> positions;
  ops::RopeParams rope, rope_local;  // rope_local: sliding-window layers
};

/// Runs tokens (<= a.n_batch of them) at positions pos0.. through the model,
/// appending their K/V to the cache. Writes [n_vocab] logits of the last token
/// to `logits`, or [tokens x n_vocab] for every token when all_logits; a null
/// `logits` skips the output projection (cache filling only).
void forward_batch(const ModelWeights& w, KvCache& kv, Activations& a, ThreadPool& pool,
                   std::span<const std::int32_t> tokens, std::int64_t pos0, float* logits,
                   bool all_logits);

}  // namespace cnai::model
