// AVX-512 (F/BW/VL/VNNI) matmul kernels: vpdpbusd integer dots.
#include "ops/matmul_kernels.hpp"

namespace cnai::ops {

const MatmulKernels* matmul_kernels_avx512() { return nullptr; }

}  // namespace cnai::ops
