#include "model/kv_cache.hpp"

#include <algorithm>
#include <cstring>

#include "cnai/ops/quantize.hpp"

namespace cnai::model {

KvCache::KvCache(int n_layer, int n_ctx, int n_kv_head, int head_dim, KvCacheType type,
                 const std::vector<int>& layer_rows)
    : n_ctx_(n_ctx), n_kv_head_(n_kv_head), head_dim_(head_dim), type_(type) {
  const DType dt = type == KvCacheType::f32 ? DType::F32 : DType::F16;
  for (int i = 0; i < n_layer; ++i) {
    const int rows = layer_rows.empty() ? n_ctx : std::min(n_ctx, layer_rows[static_cast<std::size_t>(i)]);
    const Shape shape{rows, n_kv_head, head_dim};
    // Zeroed so that untouched rows are finite (they are never read, but cheap insurance).
    k_.push_back(Tensor::zeros(dt, shape));
    v_.push_back(Tensor::zeros(dt, shape));
  }
}

Tensor KvCache::rows(Tensor& t, std::int64_t pos0, std::int64_t n) const {
  return Tensor::borrow(t.dtype(), Shape{n, n_kv_head_, head_dim_}, t.row_ptr(pos0 * n_kv_head_));
}

Tensor KvCache::k_rows(int layer, std::int64_t pos0, std::int64_t n) { return rows(k(layer), pos0, n); }
Tensor KvCache::v_rows(int layer, std::int64_t pos0, std::int64_t n) { return rows(v(layer), pos0, n); }

void KvCache::store(int layer, std::int64_t pos0, std::int64_t n, const float* k, const float* v) {
  const std::int64_t w = std::int64_t{n_kv_head_} * head_dim_, cap = this->k(layer).dim(0);
  // Runs of rows that do not wrap around a ring layer's end.
  for (std::int64_t done = 0; done < n;) {
    const std::int64_t row = (pos0 + done) % cap, run = std::min(n - done, cap - row);
    std::uint8_t* kd = this->k(layer).row_ptr(row * n_kv_head_);
    std::uint8_t* vd = this->v(layer).row_ptr(row * n_kv_head_);
    const float* ks = k + done * w;
    const float* vs = v + done * w;
    if (is_f32()) {
      std::memcpy(kd, ks, static_cast<std::size_t>(run * w) * sizeof(float));
      std::memcpy(vd, vs, static_cast<std::size_t>(run * w) * sizeof(float));
    } else {
      auto* k16 = reinterpret_cast<std::uint16_t*>(kd);
      auto* v16 = reinterpret_cast<std::uint16_t*>(vd);
      for (std::int64_t i = 0; i < run * w; ++i) {
        k16[i] = ops::f32_to_f16(ks[i]);
        v16[i] = ops::f32_to_f16(vs[i]);
      }
    }
    done += run;
  }
}

}  // namespace cnai::model
