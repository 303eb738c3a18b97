// The shared Llama-family decoder: embedding, n_layer x (attention + SwiGLU FFN)
// with pre-RMSNorm and residuals, final norm, output projection. Architectures
// differ only in what their ArchSpec/ModelConfig says (rope style, biases, QK-norm,
// post-norms, GeGLU, embedding scale, sliding-window layers).
// The pass runs over a Batch: tokens of any number of sequences at any
// positions, each attending to its own sequence's keys and values.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cnai/core/thread_pool.hpp"
#include "cnai/ops/paged_attention.hpp"
#include "cnai/ops/rope.hpp"
#include "model/batch.hpp"
#include "model/kv_cache.hpp"
#include "model/llama_weights.hpp"

namespace cnai::model {

/// Activation buffers for batches of up to n_batch tokens, allocated once.
struct Activations {
  Activations(const ModelWeights& w, int n_batch);
  int n_batch;
  Tensor x, xn, q, k, v, attn, tmp, gate, up;
  std::vector<std::int64_t> cache_rows;       // per row: where its K/V go in the cache
  std::vector<ops::AttentionSpan> spans;      // per row: what it attends to
  std::vector<std::int32_t> logit_rows;       // rows whose logits are wanted
  ops::RopeParams rope, rope_local;         // rope_local: sliding-window layers
  // Sliding-window layers (plan_local): rows and spans in each sequence's ring of blocks.
  std::vector<std::int64_t> local_rows;
  std::vector<ops::AttentionSpan> local_spans;
  std::vector<std::vector<std::int32_t>> ring_tables;
  std::vector<std::int64_t> seq_lo, seq_hi;
  bool local_one_piece = true;
  /// Attention computes each row as it would alone (ops::paged_attention's
  /// batch_invariant): the engine's scheduler sets it; Context leaves it off.
  bool batch_invariant = false;
};

/// Runs the batch (checked with check_batch) through the model, writing each
/// row's keys and values into the cache at its sequence's position. Writes the
/// logits of the rows that want them to `logits`, [batch.n_logits() x n_vocab]
/// in row order; with no such rows the output projection is skipped.
void forward(const ModelWeights& w, KvCache& kv, Activations& a, ThreadPool& pool, const Batch& batch,
             float* logits);

}  // namespace cnai::model
