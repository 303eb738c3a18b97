// cuda — device tensors and the CUDA versions of the ops (matmul, rms_norm,
// rope, softmax, swiglu, attention). No CUDA types here: a build without CUDA links the
// same API, where available() is false and every call is Error(unsupported).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "cnai/ops/rope.hpp"
#include "cnai/tensor/tensor.hpp"

namespace cnai::ops::cuda {

/// True when cnai was built with CUDA and a CUDA device is present.
bool available() noexcept;

/// A contiguous tensor in device memory (row-major, like Tensor).
class DeviceTensor {
 public:
  DeviceTensor() = default;
  /// Uninitialised device storage of the given type and shape.
  static DeviceTensor empty(DType dtype, const Shape& shape);

  DType dtype() const noexcept { return dtype_; }
  const Shape& shape() const noexcept { return shape_; }
  std::int64_t dim(int i) const noexcept { return shape_[i < 0 ? i + shape_.rank() : i]; }
  std::int64_t numel() const noexcept { return shape_.numel(); }
  std::size_t nbytes() const noexcept { return nbytes_; }
  void* data() noexcept { return data_.get(); }
  const void* data() const noexcept { return data_.get(); }

 private:
  DType dtype_ = DType::F32;
  Shape shape_;
  std::size_t nbytes_ = 0;
  std::shared_ptr<void> data_;
};

/// Copies a host tensor to a new device tensor.
DeviceTensor to_device(const Tensor& host);
/// Copies a device tensor to a new host tensor.
Tensor to_host(const DeviceTensor& dev);

/// y = x · wᵀ. x: F32 [M, K]; w: [N, K] F32, F16, Q4_0, Q4_1 or Q8_0; y: F32 [M, N].
void matmul(const DeviceTensor& x, const DeviceTensor& w, DeviceTensor& y);
/// As ops::rms_norm (y may be x).
void rms_norm(const DeviceTensor& x, const DeviceTensor& weight, float eps, DeviceTensor& y);
/// As ops::rope; positions and freq_factors are host memory.
void rope(DeviceTensor& x, std::span<const std::int32_t> positions, const RopeParams& params);
/// As ops::softmax, per innermost row.
void softmax(DeviceTensor& x);
/// As ops::swiglu.
void swiglu(const DeviceTensor& gate, const DeviceTensor& up, DeviceTensor& out);
/// As ops::attention (q, out F32 [T, H, D]; k, v F32 or F16 [n_ctx, H_kv, D]).
void attention(const DeviceTensor& q, const DeviceTensor& k, const DeviceTensor& v,
               std::int64_t pos0, float scale, DeviceTensor& out);

}  // namespace cnai::ops::cuda
