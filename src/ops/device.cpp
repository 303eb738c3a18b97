// device — the CUDA entry points in a CPU-only build: no device, and every
// device operation is Error(unsupported).
#include "ops/cuda_ops.hpp"

#ifndef CNAI_WITH_CUDA

#include "cnai/core/error.hpp"

namespace cnai::ops {
namespace {
[[noreturn]] void no_cuda() {
  throw Error(ErrorCode::unsupported, "cnai was built without CUDA (configure with -DCNAI_WITH_CUDA=ON)");
}
}  // namespace

bool cuda_available() noexcept { return false; }

namespace gpu {
void* alloc(std::size_t) { no_cuda(); }
void free(void*) noexcept {}
void copy_to_device(void*, const void*, std::size_t) { no_cuda(); }
void copy_to_host(void*, const void*, std::size_t) { no_cuda(); }
void matmul(const float*, const void*, DType, float*, std::int64_t, std::int64_t, std::int64_t) {
  no_cuda();
}
void rms_norm(const float*, const float*, float, float*, std::int64_t, std::int64_t) { no_cuda(); }
void rope(float*, std::int64_t, std::int64_t, std::int64_t, const std::int32_t*, const RopeParams&) {
  no_cuda();
}
void softmax_rows(float*, std::int64_t, std::int64_t) { no_cuda(); }
void swiglu(const float*, const float*, float*, std::int64_t) { no_cuda(); }
void attention(const float*, const void*, bool, const void*, bool, float*, std::int64_t,
               std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, float) {
  no_cuda();
}
}  // namespace gpu

}  // namespace cnai::ops

#endif  // CNAI_WITH_CUDA
