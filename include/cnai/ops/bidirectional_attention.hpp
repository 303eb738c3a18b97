// bidirectional_attention — non-causal scaled-dot-product attention over a batch
// of sequences packed back to back: every token attends to all tokens of its own
// sequence and to none of the others. This is an encoder's padding mask without
// the padding: no row is spent on pad tokens.
#pragma once

#include <cstdint>
#include <span>

#include "cnai/core/thread_pool.hpp"
#include "cnai/tensor/tensor.hpp"

namespace cnai::ops {

/// q, out: F32 [T, n_head, head_dim]; k, v: F32 [T, n_kv_head, head_dim] (query head h
/// uses KV head h / (n_head / n_kv_head)). seq_starts: n_seq + 1 offsets rising strictly
/// from 0 to T; sequence s is rows [seq_starts[s], seq_starts[s + 1]). scale is usually
/// 1/sqrt(head_dim). Errors: invalid_argument naming the bad argument.
void bidirectional_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                             std::span<const std::int64_t> seq_starts, float scale, Tensor& out,
                             ThreadPool& pool);

}  // namespace cnai::ops
