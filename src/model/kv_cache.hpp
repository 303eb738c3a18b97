// KvCache — paged storage for keys and values: per layer K and V tensors of
// [n_blocks * block_size, n_kv_head, head_dim] in F32 or F16, allocated once.
// Who owns which block is not its business: a sequence's block table (in the
// Batch) says where its positions live; see ops::PagedKv for the layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cnai/model/model.hpp"
#include "cnai/ops/paged_attention.hpp"
#include "cnai/tensor/tensor.hpp"

namespace cnai::model {

class KvCache {
 public:
  static constexpr int kDefaultBlockSize = 16;

  /// zero: fill with zeros now (touches every page); false leaves the memory
  /// as allocated, paged in as blocks are first written (a large pool then
  /// costs only what is used). Rows are never read before they are written.
  KvCache(int n_layer, int n_blocks, int block_size, int n_kv_head, int head_dim, KvCacheType type,
          bool zero = true);

  /// Bytes one block takes over all layers (K and V).
  static std::size_t block_bytes(int n_layer, int block_size, int n_kv_head, int head_dim, KvCacheType type);

  int n_blocks() const noexcept { return n_blocks_; }
  int block_size() const noexcept { return block_size_; }
  bool is_f32() const noexcept { return type_ == KvCacheType::f32; }
  std::size_t bytes() const noexcept;
  Tensor& k(int layer) noexcept { return k_[static_cast<std::size_t>(layer)]; }
  Tensor& v(int layer) noexcept { return v_[static_cast<std::size_t>(layer)]; }
  ops::PagedKv layer(int il) const noexcept {
    return {&k_[static_cast<std::size_t>(il)], &v_[static_cast<std::size_t>(il)], block_size_};
  }

  /// F32 cache rows [row0, row0 + n) of layer's K (or V) as a [n, n_kv_head,
  /// head_dim] view, so projections can write straight into an F32 cache.
  Tensor k_rows(int layer, std::int64_t row0, std::int64_t n);
  Tensor v_rows(int layer, std::int64_t row0, std::int64_t n);

  /// Stores F32 row i of k and v (n_kv_head * head_dim each) at cache row
  /// rows[i], converting to F16 when the cache is F16.
  void store(int layer, std::span<const std::int64_t> rows, const float* k, const float* v);

 private:
  Tensor rows(Tensor& t, std::int64_t row0, std::int64_t n) const;
  int n_blocks_, block_size_, n_kv_head_, head_dim_;
  KvCacheType type_;
  std::vector<Tensor> k_, v_;
};

}  // namespace cnai::model
