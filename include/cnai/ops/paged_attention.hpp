// paged_attention — causal grouped-query attention for a batch of query rows
// from several sequences, each reading its own keys and values out of a paged
// KV cache (fixed-size blocks, one block table per sequence).
#pragma once

#include <cstdint>
#include <span>

#include "cnai/core/thread_pool.hpp"
#include "cnai/tensor/tensor.hpp"

namespace cnai::ops {

/// One layer of a paged cache: k, v [n_blocks * block_size, n_kv_head, head_dim]
/// in F32 or F16. A sequence's block table lists its blocks in position order,
/// so its position p is row blocks[p / block_size] * block_size + p % block_size.
struct PagedKv {
  const Tensor* k = nullptr;
  const Tensor* v = nullptr;
  std::int64_t block_size = 0;
};

/// The positions [first, last] of one sequence that a query row attends to:
/// last is the row's own position (causal); first > 0 is a sliding window.
struct AttentionSpan {
  std::span<const std::int32_t> blocks;  // the sequence's block table
  std::int64_t first = 0;
  std::int64_t last = 0;
};

/// q, out: F32 [T, n_head, head_dim]; spans[t] is what row t attends to, and
/// the keys/values of every position it names are already in the cache (the
/// batch's own tokens included). Query head h uses KV head h / (n_head /
/// n_kv_head); scale is usually 1/sqrt(head_dim). batch_invariant: every
/// row is computed the same way whatever else is in the batch (no
/// flash-decoding split of a lone row's long span, heads grouped by KV head),
/// so a sequence's result does not depend on its batch. Errors:
/// invalid_argument (shapes, a span outside its block table, a block id
/// outside the cache).
void paged_attention(const Tensor& q, const PagedKv& kv, std::span<const AttentionSpan> spans, float scale,
                     Tensor& out, ThreadPool& pool, bool batch_invariant = false);

}  // namespace cnai::ops
