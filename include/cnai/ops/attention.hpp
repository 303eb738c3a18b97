// attention — causal scaled-dot-product attention with grouped-query heads
// over a KV cache.
#pragma once

#include <cstdint>

#include "cnai/core/thread_pool.hpp"
#include "cnai/tensor/tensor.hpp"

namespace cnai::ops {

/// q:   F32 [T, n_head, head_dim] — T new tokens at positions pos0 .. pos0+T-1.
/// k, v: [n_ctx, n_kv_head, head_dim] in F32 or F16, holding valid entries for
///       positions 0 .. pos0+T-1 (the new tokens' keys/values already written).
/// out: F32 [T, n_head, head_dim]. Query head h uses KV head h / (n_head / n_kv_head).
/// Token t attends to positions 0 .. pos0+t (causal). scale is usually 1/sqrt(head_dim).
///
/// window > 0 (sliding-window attention, e.g. Gemma 3's local layers): token t
/// attends to the last `window` positions only, pos0+t-window+1 .. pos0+t, and
/// k, v are rings: position p is row p % n_ctx, so a local layer's cache needs
/// no more than `window` rows. Every position a token of the batch reads must
/// still be in the ring: (pos0+T-1) - max(0, pos0-window+1) < n_ctx.
void attention(const Tensor& q, const Tensor& k, const Tensor& v, std::int64_t pos0,
               float scale, Tensor& out, ThreadPool& pool, std::int64_t window = 0);

}  // namespace cnai::ops
