// bidirectional_attention — argument checks and device dispatch.
#include "cnai/ops/bidirectional_attention.hpp"

#include <cmath>
#include <string>

#include "ops/layer_checks.hpp"
#include "ops/layer_ops_cpu.hpp"

namespace cnai::ops {
namespace {

void check_sequences(std::span<const std::int64_t> starts, std::int64_t rows) {
  constexpr const char* op = "bidirectional_attention";
  if (starts.size() < 2) check::fail(op, "seq_starts must hold at least 2 offsets (one sequence)");
  if (starts.front() != 0 || starts.back() != rows)
    check::fail(op, "seq_starts must run from 0 to T = " + std::to_string(rows) + ", got " +
                        std::to_string(starts.front()) + " .. " + std::to_string(starts.back()));
  for (std::size_t s = 1; s < starts.size(); ++s) {
    if (starts[s] <= starts[s - 1])
      check::fail(op, "sequence " + std::to_string(s - 1) + " is empty or seq_starts fall (" +
                          std::to_string(starts[s - 1]) + " then " + std::to_string(starts[s]) + ")");
  }
}

}  // namespace

void bidirectional_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                             std::span<const std::int64_t> seq_starts, float scale, Tensor& out,
                             ThreadPool& pool) {
  constexpr const char* op = "bidirectional_attention";
  check::f32(op, "q", q);
  check::f32(op, "k", k);
  check::f32(op, "v", v);
  check::f32(op, "out", out);
  if (q.rank() != 3) check::fail(op, "q must be [T, n_head, head_dim], got " + q.shape().str());
  check::same_shape(op, "q", q, "out", out);
  check::same_shape(op, "k", k, "v", v);
  if (k.rank() != 3 || k.dim(0) != q.dim(0) || k.dim(2) != q.dim(2))
    check::fail(op, "k " + k.shape().str() + " must be [T, n_kv_head, head_dim] with T and head_dim of q " +
                        q.shape().str());
  if (k.dim(1) == 0 || q.dim(1) % k.dim(1) != 0)
    check::fail(op, "n_head " + std::to_string(q.dim(1)) + " must be a multiple of n_kv_head " +
                        std::to_string(k.dim(1)));
  check_sequences(seq_starts, q.dim(0));
  if (!std::isfinite(scale)) check::fail(op, "scale must be finite");
  for (const Tensor* t : {&q, &k, &v, static_cast<const Tensor*>(&out)}) check::on_cpu(op, *t);
  if (q.numel() == 0) return;
  cpu::bidirectional_attention(q, k, v, seq_starts, scale, out, pool);
}

}  // namespace cnai::ops
