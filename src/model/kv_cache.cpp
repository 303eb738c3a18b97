#include "model/kv_cache.hpp"

#include <cstring>

#include "cnai/ops/quantize.hpp"

namespace cnai::model {

KvCache::KvCache(int n_layer, int n_blocks, int block_size, int n_kv_head, int head_dim, KvCacheType type,
                 bool zero)
    : n_blocks_(n_blocks), block_size_(block_size), n_kv_head_(n_kv_head), head_dim_(head_dim), type_(type) {
  const DType dt = type == KvCacheType::f32 ? DType::F32 : DType::F16;
  const Shape shape{std::int64_t{n_blocks} * block_size, n_kv_head, head_dim};
  for (int i = 0; i < n_layer; ++i) {
    // Zeroed so that untouched rows are finite (they are never read, but cheap insurance).
    k_.push_back(zero ? Tensor::zeros(dt, shape) : Tensor::empty(dt, shape));
    v_.push_back(zero ? Tensor::zeros(dt, shape) : Tensor::empty(dt, shape));
  }
}

std::size_t KvCache::block_bytes(int n_layer, int block_size, int n_kv_head, int head_dim, KvCacheType type) {
  const std::size_t elem = type == KvCacheType::f32 ? 4 : 2;
  return 2 * static_cast<std::size_t>(n_layer) * static_cast<std::size_t>(block_size) *
         static_cast<std::size_t>(n_kv_head) * static_cast<std::size_t>(head_dim) * elem;
}

std::size_t KvCache::bytes() const noexcept {
  return block_bytes(static_cast<int>(k_.size()), block_size_, n_kv_head_, head_dim_, type_) *
         static_cast<std::size_t>(n_blocks_);
}

Tensor KvCache::rows(Tensor& t, std::int64_t row0, std::int64_t n) const {
  return Tensor::borrow(t.dtype(), Shape{n, n_kv_head_, head_dim_}, t.row_ptr(row0 * n_kv_head_));
}

Tensor KvCache::k_rows(int layer, std::int64_t row0, std::int64_t n) { return rows(k(layer), row0, n); }
Tensor KvCache::v_rows(int layer, std::int64_t row0, std::int64_t n) { return rows(v(layer), row0, n); }

void KvCache::store(int layer, std::span<const std::int64_t> rows, const float* k, const float* v) {
  const std::int64_t w = std::int64_t{n_kv_head_} * head_dim_;
  for (std::size_t i = 0; i < rows.size(); ++i, k += w, v += w) {
    std::uint8_t* kd = this->k(layer).row_ptr(rows[i] * n_kv_head_);
    std::uint8_t* vd = this->v(layer).row_ptr(rows[i] * n_kv_head_);
    if (is_f32()) {
      std::memcpy(kd, k, static_cast<std::size_t>(w) * sizeof(float));
      std::memcpy(vd, v, static_cast<std::size_t>(w) * sizeof(float));
      continue;
    }
    auto* k16 = reinterpret_cast<std::uint16_t*>(kd);
    auto* v16 = reinterpret_cast<std::uint16_t*>(vd);
    for (std::int64_t j = 0; j < w; ++j) {
      k16[j] = ops::f32_to_f16(k[j]);
      v16[j] = ops::f32_to_f16(v[j]);
    }
  }
}

}  // namespace cnai::model
