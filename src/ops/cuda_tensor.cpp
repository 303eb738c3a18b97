// cuda_tensor — DeviceTensor storage, host<->device copies, and argument
// checks in front of the CUDA kernels (see cuda/).
#include <cmath>
#include <string>

#include "cnai/core/error.hpp"
#include "cnai/ops/cuda.hpp"
#include "ops/cuda_ops.hpp"

namespace cnai::ops::cuda {
namespace {

std::string describe(const DeviceTensor& t) {
  return std::string(to_string(t.dtype())) + " " + t.shape().str();
}

[[noreturn]] void fail(const char* op, const std::string& what) {
  throw Error(ErrorCode::invalid_argument, std::string("cuda::") + op + ": " + what);
}

void require_f32(const char* op, const char* name, const DeviceTensor& t) {
  if (t.shape().rank() == 0 || (t.data() == nullptr && t.numel() != 0)) {
    fail(op, std::string(name) + " is an empty device tensor");
  }
  if (t.dtype() != DType::F32) fail(op, std::string(name) + " must be F32, got " + describe(t));
}

void require_same_shape(const char* op, const DeviceTensor& a, const DeviceTensor& b) {
  if (!(a.shape() == b.shape())) {
    fail(op, "shapes " + a.shape().str() + " and " + b.shape().str() + " must match");
  }
}

std::int64_t rows_of(const DeviceTensor& t) { return t.dim(-1) ? t.numel() / t.dim(-1) : 0; }

}  // namespace

bool available() noexcept { return cuda_available(); }

DeviceTensor DeviceTensor::empty(DType dtype, const Shape& shape) {
  if (shape.rank() == 0) throw Error(ErrorCode::invalid_argument, "device tensor needs a shape");
  DeviceTensor t;
  t.dtype_ = dtype;
  t.shape_ = shape;
  const std::int64_t last = shape[shape.rank() - 1];
  t.nbytes_ = last == 0 ? 0 : row_bytes(dtype, last) * static_cast<std::size_t>(shape.numel() / last);
  void* p = t.nbytes_ ? gpu::alloc(t.nbytes_) : nullptr;
  t.data_ = std::shared_ptr<void>(p, [](void* q) { gpu::free(q); });
  return t;
}

DeviceTensor to_device(const Tensor& host) {
  if (host.device() != Device::cpu) {
    throw Error(ErrorCode::invalid_argument, "cuda::to_device: source must be a host tensor");
  }
  DeviceTensor d = DeviceTensor::empty(host.dtype(), host.shape());
  if (d.nbytes()) gpu::copy_to_device(d.data(), host.data(), d.nbytes());
  return d;
}

Tensor to_host(const DeviceTensor& dev) {
  Tensor h = Tensor::empty(dev.dtype(), dev.shape());
  if (dev.nbytes()) gpu::copy_to_host(h.data(), dev.data(), dev.nbytes());
  return h;
}

void matmul(const DeviceTensor& x, const DeviceTensor& w, DeviceTensor& y) {
  constexpr const char* op = "matmul";
  require_f32(op, "x", x);
  require_f32(op, "y", y);
  const DType wt = w.dtype();
  if (wt != DType::F32 && wt != DType::F16 && wt != DType::Q4_0 && wt != DType::Q4_1 &&
      wt != DType::Q8_0) {
    throw Error(ErrorCode::unsupported, "cuda::matmul: weight type " + describe(w) + " has no CUDA path");
  }
  if (x.shape().rank() != 2 || w.shape().rank() != 2 || y.shape().rank() != 2 ||
      w.dim(1) != x.dim(1) || y.dim(0) != x.dim(0) || y.dim(1) != w.dim(0)) {
    fail(op, "x " + x.shape().str() + ", w " + w.shape().str() + ", y " + y.shape().str() +
                 " must be [M, K], [N, K], [M, N]");
  }
  if (x.numel() == 0 || y.numel() == 0) return;
  gpu::matmul(static_cast<const float*>(x.data()), w.data(), wt, static_cast<float*>(y.data()),
              x.dim(0), w.dim(0), x.dim(1));
}

void rms_norm(const DeviceTensor& x, const DeviceTensor& weight, float eps, DeviceTensor& y) {
  constexpr const char* op = "rms_norm";
  require_f32(op, "x", x);
  require_f32(op, "weight", weight);
  require_f32(op, "y", y);
  require_same_shape(op, x, y);
  if (weight.shape().rank() != 1 || weight.dim(0) != x.dim(-1)) {
    fail(op, "weight " + weight.shape().str() + " must be [D] for x " + x.shape().str());
  }
  if (!(eps >= 0.0f) || !std::isfinite(eps)) fail(op, "eps must be finite and >= 0");
  if (x.numel() == 0) return;
  gpu::rms_norm(static_cast<const float*>(x.data()), static_cast<const float*>(weight.data()), eps,
                static_cast<float*>(y.data()), rows_of(x), x.dim(-1));
}

void rope(DeviceTensor& x, std::span<const std::int32_t> positions, const RopeParams& p) {
  constexpr const char* op = "rope";
  require_f32(op, "x", x);
  const int rank = x.shape().rank();
  if (rank != 3 && rank != 2) fail(op, "x must be [T, H, D] (or [T, D]), got " + x.shape().str());
  const std::int64_t t = x.dim(0), h = rank == 3 ? x.dim(1) : 1, d = x.dim(-1);
  if (static_cast<std::int64_t>(positions.size()) != t) {
    fail(op, std::to_string(positions.size()) + " positions for x " + x.shape().str());
  }
  if (p.n_rot <= 0 || p.n_rot % 2 != 0 || p.n_rot > d) {
    fail(op, "n_rot " + std::to_string(p.n_rot) + " must be even and in (0, head_dim] for x " +
                 x.shape().str());
  }
  if (!(p.freq_base > 0.0f) || !std::isfinite(p.freq_base) || !std::isfinite(p.freq_scale)) {
    fail(op, "freq_base must be finite and > 0, freq_scale finite");
  }
  if (x.numel() == 0) return;
  gpu::rope(static_cast<float*>(x.data()), t, h, d, positions.data(), p);
}

void softmax(DeviceTensor& x) {
  require_f32("softmax", "x", x);
  if (x.numel() == 0) return;
  gpu::softmax_rows(static_cast<float*>(x.data()), rows_of(x), x.dim(-1));
}

void swiglu(const DeviceTensor& gate, const DeviceTensor& up, DeviceTensor& out) {
  constexpr const char* op = "swiglu";
  require_f32(op, "gate", gate);
  require_f32(op, "up", up);
  require_f32(op, "out", out);
  require_same_shape(op, gate, up);
  require_same_shape(op, gate, out);
  if (gate.numel() == 0) return;
  gpu::swiglu(static_cast<const float*>(gate.data()), static_cast<const float*>(up.data()),
              static_cast<float*>(out.data()), gate.numel());
}

void attention(const DeviceTensor& q, const DeviceTensor& k, const DeviceTensor& v,
               std::int64_t pos0, float scale, DeviceTensor& out) {
  constexpr const char* op = "attention";
  require_f32(op, "q", q);
  require_f32(op, "out", out);
  require_same_shape(op, q, out);
  require_same_shape(op, k, v);
  for (const DeviceTensor* c : {&k, &v}) {
    if (c->dtype() != DType::F32 && c->dtype() != DType::F16) {
      fail(op, "cache must be F32 or F16, got " + describe(*c));
    }
  }
  if (q.shape().rank() != 3 || k.shape().rank() != 3 || k.dim(2) != q.dim(2) || k.dim(1) == 0 ||
      q.dim(1) % k.dim(1) != 0) {
    fail(op, "q " + q.shape().str() + " and cache " + k.shape().str() +
                 " must be [T, H, D] and [n_ctx, H_kv, D] with H a multiple of H_kv");
  }
  if (pos0 < 0 || pos0 + q.dim(0) > k.dim(0)) {
    fail(op, "positions from " + std::to_string(pos0) + " for q " + q.shape().str() +
                 " do not fit the cache " + k.shape().str());
  }
  if (!std::isfinite(scale)) fail(op, "scale must be finite");
  if (q.numel() == 0) return;
  gpu::attention(static_cast<const float*>(q.data()), k.data(), k.dtype() == DType::F16, v.data(),
                 v.dtype() == DType::F16, static_cast<float*>(out.data()), q.dim(0), q.dim(1),
                 k.dim(1), q.dim(2), k.dim(0), pos0, scale);
}

}  // namespace cnai::ops::cuda
