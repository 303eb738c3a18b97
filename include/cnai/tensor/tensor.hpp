// Tensor — an n-d array (rank 1..4) of one DType on one Device.
// Shapes are row-major: shape(rank-1) is the innermost, contiguous dimension
// (GGUF lists dimensions innermost-first; the reader reverses them).
// Storage is either owned (64-byte aligned) or borrowed (e.g. a weight used in
// place from a memory-mapped file, kept alive by a shared handle).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "cnai/tensor/dtype.hpp"
#include "cnai/core/error.hpp"

namespace cnai {

enum class Device { cpu, cuda };

inline constexpr int kMaxRank = 4;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims);
  static Shape of(const std::int64_t* dims, int rank);

  int rank() const noexcept { return rank_; }
  std::int64_t operator[](int i) const noexcept { return dims_[static_cast<std::size_t>(i)]; }
  std::int64_t& operator[](int i) noexcept { return dims_[static_cast<std::size_t>(i)]; }
  std::int64_t numel() const noexcept;
  bool operator==(const Shape& o) const noexcept;
  std::string str() const;  // "[2, 3, 4]"

 private:
  std::array<std::int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

class Tensor {
 public:
  Tensor() = default;

  /// A new contiguous tensor owning uninitialised, 64-byte aligned storage.
  static Tensor empty(DType dtype, const Shape& shape);
  /// A new contiguous tensor filled with zero bytes.
  static Tensor zeros(DType dtype, const Shape& shape);
  /// A contiguous view of memory owned elsewhere; `keep_alive` (may be null)
  /// holds the owner alive as long as any view exists.
  static Tensor borrow(DType dtype, const Shape& shape, const void* data,
                       std::shared_ptr<const void> keep_alive = {});

  bool defined() const noexcept { return data_ != nullptr || shape_.numel() == 0; }
  DType dtype() const noexcept { return dtype_; }
  Device device() const noexcept { return device_; }
  const Shape& shape() const noexcept { return shape_; }
  int rank() const noexcept { return shape_.rank(); }
  std::int64_t dim(int i) const noexcept { return shape_[i < 0 ? i + rank() : i]; }
  std::int64_t numel() const noexcept { return shape_.numel(); }
  /// Number of rows of the innermost dimension (numel / dim(-1)).
  std::int64_t rows() const noexcept;
  /// Bytes of one innermost row.
  std::size_t row_bytes() const;
  std::size_t nbytes() const;

  void* data() noexcept { return data_; }
  const void* data() const noexcept { return data_; }
  template <class T> T* data_as() noexcept { return static_cast<T*>(data_); }
  template <class T> const T* data_as() const noexcept { return static_cast<const T*>(data_); }
  /// Pointer to innermost row `r` (contiguous tensors).
  const std::uint8_t* row_ptr(std::int64_t r) const noexcept {
    return static_cast<const std::uint8_t*>(data_) + static_cast<std::size_t>(r) * row_bytes_;
  }
  std::uint8_t* row_ptr(std::int64_t r) noexcept {
    return static_cast<std::uint8_t*>(data_) + static_cast<std::size_t>(r) * row_bytes_;
  }

  /// Same storage, new shape with the same element count (contiguous only).
  Tensor reshape(const Shape& shape) const;
  /// Rows [begin, end) of the outermost dimension, sharing storage.
  Tensor slice_rows(std::int64_t begin, std::int64_t end) const;

 private:
  DType dtype_ = DType::F32;
  Device device_ = Device::cpu;
  Shape shape_;
  void* data_ = nullptr;
  std::size_t row_bytes_ = 0;
  std::shared_ptr<const void> storage_;
};

}  // namespace cnai
