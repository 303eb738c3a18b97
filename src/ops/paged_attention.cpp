// paged_attention — argument checks and device dispatch.
#include "cnai/ops/paged_attention.hpp"

#include <cmath>
#include <string>

#include "ops/layer_checks.hpp"
#include "ops/paged_attention_cpu.hpp"

namespace cnai::ops {
namespace {

constexpr const char* kOp = "paged_attention";

void check_cache(const char* name, const Tensor& c, const Tensor& q, std::int64_t block_size) {
  check::defined(kOp, name, c);
  if (c.dtype() != DType::F32 && c.dtype() != DType::F16)
    check::fail(kOp, std::string(name) + " cache must be F32 or F16, got " + check::describe(c));
  if (c.rank() != 3 || c.dim(2) != q.dim(2) || c.dim(0) % block_size != 0)
    check::fail(kOp, std::string(name) + " cache " + c.shape().str() +
                         " must be [n_blocks * block_size, n_kv_head, head_dim] with block_size " +
                         std::to_string(block_size) + " and head_dim of q " + q.shape().str());
  check::on_cpu(kOp, c);
}

void check_span(const AttentionSpan& s, std::size_t row, std::int64_t block_size, std::int64_t n_blocks) {
  const std::int64_t table = static_cast<std::int64_t>(s.blocks.size());
  if (s.first < 0 || s.first > s.last || s.last >= table * block_size)
    check::fail(kOp, "row " + std::to_string(row) + " attends to positions " + std::to_string(s.first) + " .. " +
                         std::to_string(s.last) + " but its block table holds " +
                         std::to_string(table * block_size) + " positions");
  for (std::int64_t b = s.first / block_size; b <= s.last / block_size; ++b) {
    const std::int32_t id = s.blocks[static_cast<std::size_t>(b)];
    if (id < 0 || id >= n_blocks)
      check::fail(kOp, "row " + std::to_string(row) + ": block " + std::to_string(id) + " is outside the cache's " +
                           std::to_string(n_blocks) + " blocks");
  }
}

}  // namespace

void paged_attention(const Tensor& q, const PagedKv& kv, std::span<const AttentionSpan> spans, float scale,
                     Tensor& out, ThreadPool& pool, bool batch_invariant) {
  check::f32(kOp, "q", q);
  check::f32(kOp, "out", out);
  if (q.rank() != 3) check::fail(kOp, "q must be [T, n_head, head_dim], got " + q.shape().str());
  check::same_shape(kOp, "q", q, "out", out);
  if (!kv.k || !kv.v || kv.block_size < 1) check::fail(kOp, "the cache needs k, v and a block size >= 1");
  check_cache("k", *kv.k, q, kv.block_size);
  check_cache("v", *kv.v, q, kv.block_size);
  check::same_shape(kOp, "k", *kv.k, "v", *kv.v);
  const std::int64_t n_head = q.dim(1), n_kv = kv.k->dim(1);
  if (n_kv == 0 || n_head % n_kv != 0)
    check::fail(kOp, "n_head " + std::to_string(n_head) + " (q " + q.shape().str() +
                         ") must be a multiple of n_kv_head " + std::to_string(n_kv) + " (k " +
                         kv.k->shape().str() + ")");
  if (static_cast<std::int64_t>(spans.size()) != q.dim(0))
    check::fail(kOp, std::to_string(spans.size()) + " spans for " + std::to_string(q.dim(0)) + " query rows");
  const std::int64_t n_blocks = kv.k->dim(0) / kv.block_size;
  for (std::size_t t = 0; t < spans.size(); ++t) check_span(spans[t], t, kv.block_size, n_blocks);
  if (!std::isfinite(scale)) check::fail(kOp, "scale must be finite");
  check::on_cpu(kOp, q);
  check::on_cpu(kOp, out);
  if (q.numel() == 0) return;
  cpu::paged_attention(q, kv, spans, scale, out, pool, batch_invariant);
}

}  // namespace cnai::ops
