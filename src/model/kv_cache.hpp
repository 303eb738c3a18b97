// KvCache — one session's keys and values: per layer [n_ctx, n_kv_head, head_dim]
// in F32 or F16, allocated once when the session is created. A layer given fewer
// rows (a sliding-window layer: its window) is a ring: position p in row p % rows.
#pragma once

#include <cstdint>
#include <vector>

#include "cnai/model/model.hpp"
#include "cnai/tensor/tensor.hpp"

namespace cnai::model {

class KvCache {
 public:
  /// layer_rows[l] (if given) < n_ctx makes layer l a ring of that many rows.
  KvCache(int n_layer, int n_ctx, int n_kv_head, int head_dim, KvCacheType type,
          const std::vector<int>& layer_rows = {});

  int n_ctx() const noexcept { return n_ctx_; }
  bool is_f32() const noexcept { return type_ == KvCacheType::f32; }
  bool is_ring(int layer) const noexcept { return k_[static_cast<std::size_t>(layer)].dim(0) < n_ctx_; }
  Tensor& k(int layer) noexcept { return k_[static_cast<std::size_t>(layer)]; }
  Tensor& v(int layer) noexcept { return v_[static_cast<std::size_t>(layer)]; }

  /// F32 rows [pos0, pos0 + n) of layer's K (or V) as a [n, n_kv_head, head_dim]
  /// view, so projections can write straight into an F32 cache.
  Tensor k_rows(int layer, std::int64_t pos0, std::int64_t n);
  Tensor v_rows(int layer, std::int64_t pos0, std::int64_t n);

  /// Stores n F32 rows (of n_kv_head * head_dim) at positions pos0.. (converting
  /// to F16 when the cache is F16; modulo the rows of a ring layer).
  void store(int layer, std::int64_t pos0, std::int64_t n, const float* k, const float* v);

 private:
  Tensor rows(Tensor& t, std::int64_t pos0, std::int64_t n) const;
  int n_ctx_, n_kv_head_, head_dim_;
  KvCacheType type_;
  std::vector<Tensor> k_, v_;
};

}  // namespace cnai::model
