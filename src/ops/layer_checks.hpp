// layer_checks — argument checks shared by the op dispatchers: each failure
// is Error(invalid_argument) naming the op, the argument and its shape.
#pragma once

#include <string>

#include "cnai/core/error.hpp"
#include "cnai/tensor/tensor.hpp"

namespace cnai::ops::check {

inline std::string describe(const Tensor& t) {
  return std::string(to_string(t.dtype())) + " " + t.shape().str();
}

[[noreturn]] inline void fail(const char* op, const std::string& what) {
  throw Error(ErrorCode::invalid_argument, std::string(op) + ": " + what);
}

inline void defined(const char* op, const char* name, const Tensor& t) {
  if (t.rank() == 0 || (t.data() == nullptr && t.numel() != 0)) {
    fail(op, std::string(name) + " is an empty tensor");
  }
}

inline void f32(const char* op, const char* name, const Tensor& t) {
  defined(op, name, t);
  if (t.dtype() != DType::F32) fail(op, std::string(name) + " must be F32, got " + describe(t));
}

inline void same_shape(const char* op, const char* a_name, const Tensor& a, const char* b_name,
                       const Tensor& b) {
  if (!(a.shape() == b.shape())) {
    fail(op, std::string(a_name) + " " + a.shape().str() + " and " + b_name + " " +
                 b.shape().str() + " must have the same shape");
  }
}

inline void on_cpu(const char* op, const Tensor& t) {
  if (t.device() != Device::cpu) {
    throw Error(ErrorCode::unsupported, std::string(op) + ": tensors must be on the CPU");
  }
}

}  // namespace cnai::ops::check
