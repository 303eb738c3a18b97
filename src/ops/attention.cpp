// attention — argument checks and device dispatch.
#include "cnai/ops/attention.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "ops/layer_checks.hpp"
#include "ops/layer_ops_cpu.hpp"

namespace cnai::ops {
namespace {

void check_cache(const char* name, const Tensor& c, const Tensor& q) {
  constexpr const char* op = "attention";
  check::defined(op, name, c);
  if (c.dtype() != DType::F32 && c.dtype() != DType::F16) {
    check::fail(op, std::string(name) + " cache must be F32 or F16, got " + check::describe(c));
  }
  if (c.rank() != 3 || c.dim(2) != q.dim(2)) {
    check::fail(op, std::string(name) + " cache " + c.shape().str() +
                        " must be [n_ctx, n_kv_head, head_dim] with head_dim of q " +
                        q.shape().str());
  }
  check::on_cpu(op, c);
}

}  // namespace

void attention(const Tensor& q, const Tensor& k, const Tensor& v, std::int64_t pos0, float scale,
               Tensor& out, ThreadPool& pool, std::int64_t window) {
  constexpr const char* op = "attention";
  check::f32(op, "q", q);
  check::f32(op, "out", out);
  if (q.rank() != 3) check::fail(op, "q must be [T, n_head, head_dim], got " + q.shape().str());
  check::same_shape(op, "q", q, "out", out);
  check_cache("k", k, q);
  check_cache("v", v, q);
  check::same_shape(op, "k", k, "v", v);
  const std::int64_t n_head = q.dim(1), n_kv = k.dim(1);
  if (n_kv == 0 || n_head % n_kv != 0) {
    check::fail(op, "n_head " + std::to_string(n_head) + " (q " + q.shape().str() +
                        ") must be a multiple of n_kv_head " + std::to_string(n_kv) + " (k " +
                        k.shape().str() + ")");
  }
  if (window < 0) check::fail(op, "window must be >= 0, got " + std::to_string(window));
  const std::int64_t oldest = window > 0 ? std::max<std::int64_t>(0, pos0 - window + 1) : 0;
  if (pos0 < 0 || pos0 + q.dim(0) - oldest > k.dim(0)) {
    check::fail(op, "positions " + std::to_string(pos0) + " .. " +
                        std::to_string(pos0 + q.dim(0) - 1) + (window > 0 ? " with window " + std::to_string(window) : "") +
                        " do not fit the cache " + k.shape().str());
  }
  if (!std::isfinite(scale)) check::fail(op, "scale must be finite");
  check::on_cpu(op, q);
  check::on_cpu(op, out);
  if (q.numel() == 0) return;
  cpu::attention(q, k, v, pos0, scale, out, pool, window);
}

}  // namespace cnai::ops
