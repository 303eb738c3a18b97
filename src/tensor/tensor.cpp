#include "cnai/tensor/tensor.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

#include "cnai/core/error.hpp"

namespace cnai {

Shape::Shape(std::initializer_list<std::int64_t> dims) {
  if (dims.size() == 0 || dims.size() > kMaxRank) {
    throw Error(ErrorCode::invalid_argument, "tensor rank must be 1..4");
  }
  for (auto d : dims) {
    if (d < 0) throw Error(ErrorCode::invalid_argument, "negative tensor dimension");
    dims_[static_cast<std::size_t>(rank_++)] = d;
  }
}

Shape Shape::of(const std::int64_t* dims, int rank) {
  if (rank < 1 || rank > kMaxRank) throw Error(ErrorCode::invalid_argument, "tensor rank must be 1..4");
  Shape s;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] < 0) throw Error(ErrorCode::invalid_argument, "negative tensor dimension");
    s.dims_[static_cast<std::size_t>(i)] = dims[i];
  }
  s.rank_ = rank;
  return s;
}

std::int64_t Shape::numel() const noexcept {
  if (rank_ == 0) return 0;
  std::int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
  return n;
}

bool Shape::operator==(const Shape& o) const noexcept {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i) {
    if (dims_[static_cast<std::size_t>(i)] != o.dims_[static_cast<std::size_t>(i)]) return false;
  }
  return true;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[static_cast<std::size_t>(i)]);
  }
  return s + "]";
}

namespace {
struct AlignedFree {
  void operator()(void* p) const noexcept { std::free(p); }
};
}  // namespace

Tensor Tensor::empty(DType dtype, const Shape& shape) {
  if (shape.rank() == 0) throw Error(ErrorCode::invalid_argument, "tensor needs a shape");
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = shape;
  t.row_bytes_ = cnai::row_bytes(dtype, shape[shape.rank() - 1]);
  const std::size_t bytes = t.nbytes();
  const std::size_t alloc = ((bytes + 63) / 64) * 64;
  void* p = alloc ? std::aligned_alloc(64, alloc) : nullptr;
  if (alloc && !p) throw Error(ErrorCode::out_of_memory, "cannot allocate " + std::to_string(bytes) + " bytes");
  t.data_ = p;
  t.storage_ = std::shared_ptr<void>(p, AlignedFree{});
  return t;
}

Tensor Tensor::zeros(DType dtype, const Shape& shape) {
  Tensor t = empty(dtype, shape);
  if (t.nbytes()) std::memset(t.data_, 0, t.nbytes());
  return t;
}

Tensor Tensor::borrow(DType dtype, const Shape& shape, const void* data,
                      std::shared_ptr<const void> keep_alive) {
  if (shape.rank() == 0) throw Error(ErrorCode::invalid_argument, "tensor needs a shape");
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = shape;
  t.row_bytes_ = cnai::row_bytes(dtype, shape[shape.rank() - 1]);
  t.data_ = const_cast<void*>(data);
  t.storage_ = std::move(keep_alive);
  return t;
}

std::int64_t Tensor::rows() const noexcept {
  const std::int64_t inner = rank() ? shape_[rank() - 1] : 0;
  return inner ? numel() / inner : 0;
}

std::size_t Tensor::row_bytes() const { return row_bytes_; }

std::size_t Tensor::nbytes() const { return static_cast<std::size_t>(rows()) * row_bytes_; }

Tensor Tensor::reshape(const Shape& shape) const {
  if (shape.numel() != numel()) {
    throw Error(ErrorCode::invalid_argument, "reshape " + shape_.str() + " -> " + shape.str() +
                                                 " changes the element count");
  }
  Tensor t = *this;
  t.shape_ = shape;
  t.row_bytes_ = cnai::row_bytes(dtype_, shape[shape.rank() - 1]);
  return t;
}

Tensor Tensor::slice_rows(std::int64_t begin, std::int64_t end) const {
  if (rank() == 0 || begin < 0 || end < begin || end > shape_[0]) {
    throw Error(ErrorCode::invalid_argument, "slice out of range");
  }
  Tensor t = *this;
  const std::size_t outer_bytes = shape_[0] ? nbytes() / static_cast<std::size_t>(shape_[0]) : 0;
  t.shape_[0] = end - begin;
  t.data_ = static_cast<std::uint8_t*>(data_) + static_cast<std::size_t>(begin) * outer_bytes;
  return t;
}

}  // namespace cnai
