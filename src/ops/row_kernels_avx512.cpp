// row_kernels_avx512 — the row kernels on 16-float AVX-512 vectors.
// GCC 12 flags its own _mm512_undefined_ps() (used inside cvtph/reduce
// intrinsics) as uninitialised; the warning is a known false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include "ops/half.hpp"
#include "ops/row_kernels_simd.hpp"

namespace cnai::ops::cpu {
namespace {

struct V512 {
  using reg = __m512;
  static constexpr int kMaxDirect = 4;  // query heads whose accumulators fit the registers
  static constexpr int W = 16;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg set1(float x) { return _mm512_set1_ps(x); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static reg load(const std::uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static float scalar(float x) { return x; }
  static float scalar(std::uint16_t h) { return _cvtsh_ss(h); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg div(reg a, reg b) { return _mm512_div_ps(a, b); }
  static reg min(reg a, reg b) { return _mm512_min_ps(a, b); }
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg fnmadd(reg a, reg b, reg c) { return _mm512_fnmadd_ps(a, b, c); }
  static reg round(reg x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static reg pow2n(reg n) {
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
  static void reduce4(reg a, reg b, reg c, reg d, float* out) {
    auto fold = [](reg x) {
      return _mm256_add_ps(_mm512_castps512_ps256(x), _mm512_extractf32x8_ps(x, 1));
    };
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(fold(a), fold(b)), _mm256_hadd_ps(fold(c), fold(d)));
    _mm_store_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
  }
  static reg zero_below(reg r, reg x, float lo) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(lo), _CMP_LT_OQ), r, _mm512_setzero_ps());
  }
  static float reduce_add(reg v) { return _mm512_reduce_add_ps(v); }
};

constexpr RowKernels kAvx512 = make_row_kernels<V512>("avx512");

}  // namespace

const RowKernels& row_kernels_avx512() noexcept { return kAvx512; }

}  // namespace cnai::ops::cpu
