// AVX2 + FMA matmul kernels (maddubs integer dots, F16C conversion).
#include "ops/matmul_kernels.hpp"

namespace cnai::ops {

const MatmulKernels* matmul_kernels_avx2() { return nullptr; }

}  // namespace cnai::ops
