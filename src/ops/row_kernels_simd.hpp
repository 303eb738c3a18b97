// row_kernels_simd — the row kernels written once over a SIMD vector type V
// (V256 in row_kernels_avx2.cpp, V512 in row_kernels_avx512.cpp). Included
// only by those files, each compiled for its ISA; everything here has
// internal linkage so the two instantiations never collide.
#pragma once

#include <cmath>
#include <cstdint>

#include "ops/row_kernels.hpp"

namespace cnai::ops::cpu {
namespace {

// exp(x) for a vector: Cephes-style range reduction to r in [-ln2/2, ln2/2],
// degree-6 polynomial, times 2^n built in the exponent bits (~1 ulp).
template <class V>
typename V::reg vexp(typename V::reg x) {
  using R = typename V::reg;
  x = V::min(V::max(x, V::set1(-87.3f)), V::set1(88.7f));
  const R n = V::round(V::mul(x, V::set1(1.44269504088896341f)));
  R r = V::fnmadd(n, V::set1(0.693359375f), x);
  r = V::fnmadd(n, V::set1(-2.12194440e-4f), r);
  R p = V::set1(1.9875691500e-4f);
  p = V::fma(p, r, V::set1(1.3981999507e-3f));
  p = V::fma(p, r, V::set1(8.3334519073e-3f));
  p = V::fma(p, r, V::set1(4.1665795894e-2f));
  p = V::fma(p, r, V::set1(1.6666665459e-1f));
  p = V::fma(p, r, V::set1(5.0000001201e-1f));
  p = V::fma(V::mul(p, r), r, V::add(r, V::set1(1.0f)));
  return V::mul(p, V::pow2n(n));
}

template <class V, class K>
void scores(const float* q, const K* k, std::int64_t stride, std::int64_t n, std::int64_t hd,
            float scale, float* s) {
  constexpr std::int64_t W = V::W;
  const std::int64_t hv = hd - hd % W;
  std::int64_t j = 0;
  // Four rows at a time share the q loads and give the FMAs independent chains.
  for (; j + 4 <= n; j += 4) {
    const K* k0 = k + j * stride;
    auto a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
    for (std::int64_t i = 0; i < hv; i += W) {
      const auto qv = V::load(q + i);
      a0 = V::fma(qv, V::load(k0 + i), a0);
      a1 = V::fma(qv, V::load(k0 + stride + i), a1);
      a2 = V::fma(qv, V::load(k0 + 2 * stride + i), a2);
      a3 = V::fma(qv, V::load(k0 + 3 * stride + i), a3);
    }
    float t[4] = {V::reduce_add(a0), V::reduce_add(a1), V::reduce_add(a2), V::reduce_add(a3)};
    for (std::int64_t i = hv; i < hd; ++i) {
      for (int r = 0; r < 4; ++r) t[r] += q[i] * V::scalar(k0[r * stride + i]);
    }
    for (int r = 0; r < 4; ++r) s[j + r] = scale * t[r];
  }
  for (; j < n; ++j) {
    const K* kr = k + j * stride;
    auto a = V::zero();
    for (std::int64_t i = 0; i < hv; i += W) a = V::fma(V::load(q + i), V::load(kr + i), a);
    float t = V::reduce_add(a);
    for (std::int64_t i = hv; i < hd; ++i) t += q[i] * V::scalar(kr[i]);
    s[j] = scale * t;
  }
}

template <class V, class K>
void mix(const float* p, const K* v, std::int64_t stride, std::int64_t n, std::int64_t hd,
         float* out) {
  constexpr std::int64_t W = V::W;
  std::int64_t i = 0;
  // Column blocks of 4 vectors stay in registers across all n rows.
  for (; i + 4 * W <= hd; i += 4 * W) {
    auto a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
    for (std::int64_t j = 0; j < n; ++j) {
      const K* vr = v + j * stride + i;
      const auto w = V::set1(p[j]);
      a0 = V::fma(w, V::load(vr), a0);
      a1 = V::fma(w, V::load(vr + W), a1);
      a2 = V::fma(w, V::load(vr + 2 * W), a2);
      a3 = V::fma(w, V::load(vr + 3 * W), a3);
    }
    V::store(out + i, a0);
    V::store(out + i + W, a1);
    V::store(out + i + 2 * W, a2);
    V::store(out + i + 3 * W, a3);
  }
  for (; i + W <= hd; i += W) {
    auto a = V::zero();
    for (std::int64_t j = 0; j < n; ++j) a = V::fma(V::set1(p[j]), V::load(v + j * stride + i), a);
    V::store(out + i, a);
  }
  for (; i < hd; ++i) {
    float a = 0.0f;
    for (std::int64_t j = 0; j < n; ++j) a += p[j] * V::scalar(v[j * stride + i]);
    out[i] = a;
  }
}

template <class V>
float exp_shifted(float* p, std::int64_t n, float max) {
  constexpr std::int64_t W = V::W;
  const auto m = V::set1(max);
  auto sum = V::zero();
  std::int64_t j = 0;
  for (; j + W <= n; j += W) {
    const auto e = vexp<V>(V::sub(V::load(p + j), m));
    V::store(p + j, e);
    sum = V::add(sum, e);
  }
  float total = V::reduce_add(sum);
  for (; j < n; ++j) total += (p[j] = std::exp(p[j] - max));
  return total;
}

template <class V>
void silu_mul(const float* gate, const float* up, float* out, std::int64_t n) {
  constexpr std::int64_t W = V::W;
  const auto one = V::set1(1.0f);
  std::int64_t i = 0;
  for (; i + W <= n; i += W) {
    const auto g = V::load(gate + i);
    const auto e = vexp<V>(V::sub(V::zero(), g));
    V::store(out + i, V::div(V::mul(g, V::load(up + i)), V::add(one, e)));
  }
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

template <class V>
constexpr RowKernels make_row_kernels(const char* isa) {
  return RowKernels{scores<V, float>,    scores<V, std::uint16_t>, mix<V, float>,
                    mix<V, std::uint16_t>, exp_shifted<V>,         silu_mul<V>,
                    isa};
}

}  // namespace
}  // namespace cnai::ops::cpu
