// The BERT-family forward pass over a packed batch: embeddings (token +
// position + type 0) and their LayerNorm, then n_layer post-LayerNorm blocks
//   x = LN(x + Wo·attn(x)),  x = LN(x + W2·gelu(W1·x)),
// with bidirectional attention inside each sequence, then pooling and the
// optional L2 normalisation. Not the causal decoder (transformer.cpp).
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "cnai/core/thread_pool.hpp"
#include "model/encoder_weights.hpp"

namespace cnai::model {

/// Activation buffers, grown to the largest batch seen and then reused; the
/// mutex makes concurrent passes over one model take turns (the pool runs one
/// job at a time).
struct EncoderScratch {
  void fit(const EncoderConfig& c, std::int64_t tokens);
  std::mutex mutex;
  std::int64_t capacity = 0;
  Tensor x, q, k, v, attn, tmp, ff;
  Tensor residual, extra;  // precise activations: the rounding residual, its products
  std::vector<std::int32_t> ids, positions;
  std::vector<std::int64_t> starts;
};

/// One forward pass: sequences (already checked: non-empty, ids in the
/// vocabulary, <= n_ctx_train long) to out [n_seq, n_embd].
void encode_batch(const EncoderWeights& w, EncoderScratch& s, ThreadPool& pool,
                  std::span<const std::span<const std::int32_t>> sequences, float* out);

}  // namespace cnai::model
