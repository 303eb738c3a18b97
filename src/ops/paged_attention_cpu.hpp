// paged_attention_cpu — the CPU kernel behind ops::paged_attention (arguments
// already checked by src/ops/paged_attention.cpp).
#pragma once

#include <span>

#include "cnai/ops/paged_attention.hpp"

namespace cnai::ops::cpu {

void paged_attention(const Tensor& q, const PagedKv& kv, std::span<const AttentionSpan> spans, float scale,
                     Tensor& out, ThreadPool& pool, bool batch_invariant);

}  // namespace cnai::ops::cpu
