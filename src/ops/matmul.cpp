// matmul: argument checks and device dispatch; kernels live in matmul_cpu.cpp.
#include "cnai/ops/matmul.hpp"

#include <string>

#include "cnai/core/error.hpp"
#include "ops/matmul_cpu.hpp"

namespace cnai::ops {

bool matmul_supports(DType t) noexcept {
  switch (t) {
    case DType::F32: case DType::F16: case DType::BF16: case DType::Q4_0: case DType::Q4_1:
    case DType::Q8_0: case DType::Q5_0: case DType::Q5_1: case DType::Q2_K: case DType::Q3_K: case DType::Q4_K:
    case DType::Q5_K: case DType::Q6_K: case DType::Q4_1_R16: case DType::Q8_0_R16: case DType::Q5_0_R16:
    case DType::Q5_1_R16: case DType::Q4_K_R16: case DType::Q6_K_R16: case DType::Q4_0_R16:
    case DType::Q3_K_R16:
      return true;
    default:
      return false;
  }
}

namespace {

[[noreturn]] void fail(const std::string& what) { throw Error(ErrorCode::invalid_argument, "matmul: " + what); }

void check_target(const Tensor& x, const MatmulTarget& t) {
  if (!t.w || !t.y) fail("weight and output tensors are required");
  const Tensor& w = *t.w;
  const Tensor& y = *t.y;
  const std::int64_t M = x.rows(), K = x.dim(-1);
  if (w.rank() != 2) fail("weight must be [N, K], got " + w.shape().str());
  if (w.dim(1) != K)
    fail("x " + x.shape().str() + " and weight " + w.shape().str() + " disagree on K");
  if (!matmul_supports(w.dtype()))
    throw Error(ErrorCode::unsupported, "matmul: no kernel for weight type " + std::string(to_string(w.dtype())));
  const auto bs = static_cast<std::int64_t>(traits(w.dtype()).block_size);
  if (K % bs != 0)
    fail("K=" + std::to_string(K) + " is not a multiple of " + std::string(to_string(w.dtype())) +
         "'s block size " + std::to_string(bs));
  if (y.dtype() != DType::F32 || y.rank() < 1 || y.rows() != M || y.dim(-1) != w.dim(0) || !y.data())
    fail("output must be F32 [" + std::to_string(M) + ", " + std::to_string(w.dim(0)) + "], got " +
         std::string(to_string(y.dtype())) + " " + y.shape().str());
  if (t.bias && (t.bias->dtype() != DType::F32 || t.bias->numel() != w.dim(0)))
    fail("bias must be F32 with " + std::to_string(w.dim(0)) + " elements, got " +
         std::string(to_string(t.bias->dtype())) + " " + t.bias->shape().str());
  if (w.device() != x.device() || y.device() != x.device())
    fail("x, weight and output must be on the same device");
}

void check_x(const Tensor& x) {
  if (x.dtype() != DType::F32 || x.rank() < 1 || !x.data())
    fail("x must be F32 [M, K], got " + std::string(to_string(x.dtype())) + " " + x.shape().str());
  if (x.device() != Device::cpu)
    throw Error(ErrorCode::unsupported, "matmul: only CPU tensors are supported in this build");
}

}  // namespace

void matmul_many(const Tensor& x, std::span<const MatmulTarget> targets, ThreadPool& pool) {
  check_x(x);
  for (const auto& t : targets) check_target(x, t);
  if (targets.empty() || x.rows() == 0) return;
  matmul_many_cpu(x, targets, pool);
}

void matmul(const Tensor& x, const Tensor& w, Tensor& y, ThreadPool& pool, const Tensor* bias) {
  const MatmulTarget t{&w, &y, bias};
  matmul_many(x, std::span<const MatmulTarget>(&t, 1), pool);
}

}  // namespace cnai::ops
