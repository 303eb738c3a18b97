// Kernel families behind ops::matmul (private to src/ops).
// Each ISA file (matmul_cpu.cpp: portable, matmul_avx2.cpp, matmul_avx512.cpp)
// fills one MatmulKernels table; the dispatcher picks one at run time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cnai::ops {

/// Activations quantized to Q8 (the Q8_1 scheme: scale d and d*sum(q) per 32
/// elements, d and s rounded to f16 like GGML) in a struct-of-arrays layout:
/// row m has qs + m*k, d + m*nb and s + m*nb, nb = k / 32. Each family fills
/// it with its own quantize_act; qsum[m * nb + b] = Σq of each block (filled
/// by the dispatcher, only when a packed weight needs it). Q4_1's m·Σx term: the scalar
/// and packed AVX-512 kernels use the f16 s, as GGML does; the unpacked AVX2/AVX-512 kernels
/// take Σq from the integer quants themselves, a little more exact and not bit-identical.
struct ActQ8 {
  std::int8_t* qs;
  float* d;
  float* s;
  std::int64_t k;
  std::int32_t* qsum = nullptr;
};

/// Activations for the K-quants (GGML's Q8_K: f32 scale per 256 elements, Σq per
/// 16): row m has qs + m*k, d + m*(k/256), bsums + m*(k/16).
struct ActQ8K {
  std::int8_t* qs;
  float* d;
  std::int16_t* bsums;
  std::int64_t k;
};

/// Weight rows [n0, n1) of w (row stride w_stride bytes) against activation
/// rows [0, m); writes y[i * ldy + n] for every such pair. Packed weights
/// (matmul_pack.hpp): w is the matrix start, w_stride the bytes per 16-row
/// group, n0 a multiple of 16.
struct WeightRows {
  const std::uint8_t* w;
  std::size_t w_stride;
  std::int64_t n0, n1;
};

using QuantizeActFn = void (*)(const float* x, std::int64_t m, std::int64_t ldx, const ActQ8& out);
using QuantTileFn = void (*)(const ActQ8& x, std::int64_t m, const WeightRows& w, float* y, std::int64_t ldy);
using QuantizeActKFn = void (*)(const float* x, std::int64_t m, std::int64_t ldx, const ActQ8K& out);
using KQuantTileFn = void (*)(const ActQ8K& x, std::int64_t m, const WeightRows& w, float* y, std::int64_t ldy);
using FloatTileFn = void (*)(const float* x, std::int64_t ldx, std::int64_t m, std::int64_t k,
                             const WeightRows& w, float* y, std::int64_t ldy);

struct MatmulKernels {
  const char* name;
  QuantizeActFn quantize_act;
  QuantTileFn q4_0, q4_1, q8_0;
  FloatTileFn f32, f16, bf16;
  QuantTileFn q4_1_r16, q8_0_r16;  // packed layouts; nullptr: the family has none
  QuantTileFn q5_0, q5_1;           // with Q8_0 / Q8_1 activations, as Q4_0 / Q4_1
  QuantTileFn q5_0_r16, q5_1_r16;
  QuantizeActKFn quantize_act_k;    // Q8_K, for the K-quants
  KQuantTileFn q2_k, q3_k, q4_k, q5_k, q6_k;
  KQuantTileFn q4_k_r16, q6_k_r16;  // packed K-quants; nullptr: the family has none
  QuantTileFn q4_0_r16;
  KQuantTileFn q3_k_r16;
};

const MatmulKernels& matmul_kernels_scalar();

/// The AVX2 family's kernels for the packed layouts (matmul_packed_avx2.cpp).
struct PackedKernels {
  QuantTileFn q4_1_r16, q8_0_r16, q5_0_r16, q5_1_r16;
  KQuantTileFn q4_k_r16, q6_k_r16;
  QuantTileFn q4_0_r16;
  KQuantTileFn q3_k_r16;
};
const PackedKernels& packed_kernels_avx2();
// Defined only when the x86 kernels are built (CNAI_X86_KERNELS).
const MatmulKernels* matmul_kernels_avx2();
const MatmulKernels* matmul_kernels_avx512();

/// The family of cnai::active_cpu_isa() (core/cpu_features.hpp).
const MatmulKernels& matmul_kernels();

/// Test hook over cnai::set_cpu_isa: chooses a family by name ("scalar",
/// "avx2", "avx512") for every kernel; returns false if that family is
/// unavailable here. nullptr restores the best.
bool force_matmul_isa(const char* name);

}  // namespace cnai::ops
