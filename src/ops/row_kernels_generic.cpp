// row_kernels_generic — portable inner loops, and the run-time ISA choice.
#include <cmath>

#include "cnai/core/cpu_features.hpp"
#include "ops/row_kernels.hpp"
#include "ops/half.hpp"

namespace cnai::ops::cpu {
namespace {

void scores_f32_one(const float* q, const float* k, std::int64_t stride, std::int64_t n,
                std::int64_t hd, float scale, float* s) {
  for (std::int64_t j = 0; j < n; ++j) {
    const float* kr = k + j * stride;
    float acc[4] = {};
    std::int64_t i = 0;
    for (; i + 4 <= hd; i += 4) {
      for (int l = 0; l < 4; ++l) acc[l] += q[i + l] * kr[i + l];
    }
    for (; i < hd; ++i) acc[0] += q[i] * kr[i];
    s[j] = scale * ((acc[0] + acc[1]) + (acc[2] + acc[3]));
  }
}

void scores_f16_one(const float* q, const std::uint16_t* k, std::int64_t stride, std::int64_t n,
                std::int64_t hd, float scale, float* s) {
  for (std::int64_t j = 0; j < n; ++j) {
    const std::uint16_t* kr = k + j * stride;
    float acc = 0.0f;
    for (std::int64_t i = 0; i < hd; ++i) acc += q[i] * half::to_f32(kr[i]);
    s[j] = scale * acc;
  }
}

// out += sum_j p[j] * v_j (the mix kernels zero out first).
void mix_acc_f32_one(const float* p, const float* v, std::int64_t stride, std::int64_t n,
             std::int64_t hd, float* out) {
  for (std::int64_t j = 0; j < n; ++j) {
    const float* vr = v + j * stride;
    const float w = p[j];
    for (std::int64_t i = 0; i < hd; ++i) out[i] += w * vr[i];
  }
}

void mix_acc_f16_one(const float* p, const std::uint16_t* v, std::int64_t stride, std::int64_t n,
             std::int64_t hd, float* out) {
  for (std::int64_t j = 0; j < n; ++j) {
    const std::uint16_t* vr = v + j * stride;
    const float w = p[j];
    for (std::int64_t i = 0; i < hd; ++i) out[i] += w * half::to_f32(vr[i]);
  }
}

void mix_f32_one(const float* p, const float* v, std::int64_t stride, std::int64_t n,
             std::int64_t hd, float* out) {
  for (std::int64_t i = 0; i < hd; ++i) out[i] = 0.0f;
  mix_acc_f32_one(p, v, stride, n, hd, out);
}

void mix_f16_one(const float* p, const std::uint16_t* v, std::int64_t stride, std::int64_t n,
             std::int64_t hd, float* out) {
  for (std::int64_t i = 0; i < hd; ++i) out[i] = 0.0f;
  mix_acc_f16_one(p, v, stride, n, hd, out);
}

template <class K>
void scores(void (*one)(const float*, const K*, std::int64_t, std::int64_t, std::int64_t, float,
                        float*),
            const float* q, std::int64_t nq, const K* k, std::int64_t stride, std::int64_t n,
            std::int64_t hd, float scale, float* s) {
  for (std::int64_t r = 0; r < nq; ++r) one(q + r * hd, k, stride, n, hd, scale, s + r * n);
}

template <class K>
void mix(void (*one)(const float*, const K*, std::int64_t, std::int64_t, std::int64_t, float*),
         const float* p, std::int64_t nq, const K* v, std::int64_t stride, std::int64_t n,
         std::int64_t hd, float* out) {
  for (std::int64_t r = 0; r < nq; ++r) one(p + r * n, v, stride, n, hd, out + r * hd);
}

void scores_f32(const float* q, std::int64_t nq, const float* k, std::int64_t stride,
                std::int64_t n, std::int64_t hd, float scale, float* s) {
  scores<float>(scores_f32_one, q, nq, k, stride, n, hd, scale, s);
}
void scores_f16(const float* q, std::int64_t nq, const std::uint16_t* k, std::int64_t stride,
                std::int64_t n, std::int64_t hd, float scale, float* s) {
  scores<std::uint16_t>(scores_f16_one, q, nq, k, stride, n, hd, scale, s);
}
void mix_f32(const float* p, std::int64_t nq, const float* v, std::int64_t stride,
             std::int64_t n, std::int64_t hd, float* out) {
  mix<float>(mix_f32_one, p, nq, v, stride, n, hd, out);
}
void mix_f16(const float* p, std::int64_t nq, const std::uint16_t* v, std::int64_t stride,
             std::int64_t n, std::int64_t hd, float* out) {
  mix<std::uint16_t>(mix_f16_one, p, nq, v, stride, n, hd, out);
}
void mix_acc_f32(const float* p, std::int64_t nq, const float* v, std::int64_t stride,
                 std::int64_t n, std::int64_t hd, float* out) {
  mix<float>(mix_acc_f32_one, p, nq, v, stride, n, hd, out);
}
void mix_acc_f16(const float* p, std::int64_t nq, const std::uint16_t* v, std::int64_t stride,
                 std::int64_t n, std::int64_t hd, float* out) {
  mix<std::uint16_t>(mix_acc_f16_one, p, nq, v, stride, n, hd, out);
}

float row_max(const float* p, std::int64_t n) {
  float m = p[0];
  for (std::int64_t j = 1; j < n; ++j) m = p[j] > m ? p[j] : m;
  return m;
}

float exp_shifted(float* p, std::int64_t n, float max) {
  float sum = 0.0f;
  for (std::int64_t j = 0; j < n; ++j) {
    p[j] = std::exp(p[j] - max);
    sum += p[j];
  }
  return sum;
}

void silu_mul(const float* gate, const float* up, float* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void gelu_mul(const float* gate, const float* up, float* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-2.0f * 0.7978845608028654f * (g + 0.044715f * g * g * g))) * up[i];
  }
}

void gelu(const float* x, float* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

constexpr RowKernels kGeneric{scores_f32, scores_f16, mix_f32,  mix_f16, mix_acc_f32, mix_acc_f16,
                              row_max,    exp_shifted, silu_mul, gelu,    "generic",   gelu_mul};

}  // namespace

const RowKernels& row_kernels_generic() noexcept { return kGeneric; }

const RowKernels& row_kernels_for(CpuIsa isa) noexcept {
#if CNAI_X86_KERNELS
  switch (isa) {
    case CpuIsa::avx512: return row_kernels_avx512();
    case CpuIsa::avx2: return row_kernels_avx2();
    case CpuIsa::scalar: break;
  }
#endif
  (void)isa;
  return kGeneric;
}

// The table of the family core's CPU detector chose, as matmul's.
const RowKernels& row_kernels() noexcept { return row_kernels_for(active_cpu_isa()); }

}  // namespace cnai::ops::cpu
