// device — CUDA availability in a CPU-only build.
#include "ops/cuda_ops.hpp"

namespace cnai::ops {

#ifndef CNAI_WITH_CUDA
bool cuda_available() noexcept { return false; }
#endif

}  // namespace cnai::ops
