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
// degree-5 polynomial, times 2^n built in the exponent bits (~1-2 ulp).
template <class V>
typename V::reg vexp(typename V::reg x) {
  using R = typename V::reg;
  const R input = x;
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
  // Below -87.3 the result underflows: return exactly 0 (exp(-inf) for masked logits).
  return V::zero_below(V::mul(p, V::pow2n(n)), input, -87.3f);
}

// Cache rows are processed in blocks that fit L1 so that every query head of
// a GQA group reuses them; F16 rows are converted to F32 once per block.
constexpr std::int64_t kBlockFloats = 4096;

template <class V>
const float* rows_f32(const float* k, std::int64_t stride, std::int64_t, std::int64_t,
                             float*, std::int64_t& ld) {
  ld = stride;
  return k;
}

template <class V>
const float* rows_f32(const std::uint16_t* k, std::int64_t stride, std::int64_t b,
                      std::int64_t hd, float* buf, std::int64_t& ld) {
  const std::int64_t hv = hd - hd % V::W;
  for (std::int64_t r = 0; r < b; ++r) {
    const std::uint16_t* src = k + r * stride;
    float* dst = buf + r * hd;
    for (std::int64_t i = 0; i < hv; i += V::W) V::store(dst + i, V::load(src + i));
    for (std::int64_t i = hv; i < hd; ++i) dst[i] = V::scalar(src[i]);
  }
  ld = hd;
  return buf;
}

template <class V>
void dots(const float* q, const float* k, std::int64_t ld, std::int64_t b, std::int64_t hd,
          float scale, float* s) {
  constexpr std::int64_t W = V::W;
  const std::int64_t hv = hd - hd % W;
  std::int64_t j = 0;
  // Four rows at a time share the q loads and one combined horizontal sum.
  for (; j + 4 <= b; j += 4) {
    const float* k0 = k + j * ld;
    auto a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
    for (std::int64_t i = 0; i < hv; i += W) {
      const auto qv = V::load(q + i);
      a0 = V::fma(qv, V::load(k0 + i), a0);
      a1 = V::fma(qv, V::load(k0 + ld + i), a1);
      a2 = V::fma(qv, V::load(k0 + 2 * ld + i), a2);
      a3 = V::fma(qv, V::load(k0 + 3 * ld + i), a3);
    }
    alignas(16) float t[4];
    V::reduce4(a0, a1, a2, a3, t);
    for (std::int64_t i = hv; i < hd; ++i) {
      for (int r = 0; r < 4; ++r) t[r] += q[i] * k0[r * ld + i];
    }
    for (int r = 0; r < 4; ++r) s[j + r] = scale * t[r];
  }
  for (; j < b; ++j) {
    const float* kr = k + j * ld;
    auto a = V::zero();
    for (std::int64_t i = 0; i < hv; i += W) a = V::fma(V::load(q + i), V::load(kr + i), a);
    float t = V::reduce_add(a);
    for (std::int64_t i = hv; i < hd; ++i) t += q[i] * kr[i];
    s[j] = scale * t;
  }
}

template <class V, class K>
void scores_blocked(const float* q, std::int64_t nq, const K* k, std::int64_t stride, std::int64_t n,
            std::int64_t hd, float scale, float* s) {
  alignas(64) float buf[kBlockFloats];
  // A multiple of 4 rows, so dots groups a row the same way whether the rows
  // come in one call or in runs of whole 4-row groups (a paged cache's blocks).
  const std::int64_t block = 4 * hd <= kBlockFloats ? kBlockFloats / hd / 4 * 4 : 1;
  for (std::int64_t j0 = 0; j0 < n; j0 += block) {
    const std::int64_t b = n - j0 < block ? n - j0 : block;
    std::int64_t ld = 0;
    const float* rows = rows_f32<V>(k + j0 * stride, stride, b, hd, buf, ld);
    for (std::int64_t r = 0; r < nq; ++r) dots<V>(q + r * hd, rows, ld, b, hd, scale, s + r * n + j0);
  }
}

// out[0, hd) += sum_j p[j] * v_j over b rows.
template <class V>
void accumulate(const float* p, const float* v, std::int64_t ld, std::int64_t b, std::int64_t hd,
                float* out) {
  constexpr std::int64_t W = V::W;
  std::int64_t i = 0;
  // Column blocks of 4 vectors stay in registers across the rows.
  for (; i + 4 * W <= hd; i += 4 * W) {
    auto a0 = V::load(out + i), a1 = V::load(out + i + W);
    auto a2 = V::load(out + i + 2 * W), a3 = V::load(out + i + 3 * W);
    for (std::int64_t j = 0; j < b; ++j) {
      const float* vr = v + j * ld + i;
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
    auto a = V::load(out + i);
    for (std::int64_t j = 0; j < b; ++j) a = V::fma(V::set1(p[j]), V::load(v + j * ld + i), a);
    V::store(out + i, a);
  }
  for (; i < hd; ++i) {
    float a = out[i];
    for (std::int64_t j = 0; j < b; ++j) a += p[j] * v[j * ld + i];
    out[i] = a;
  }
}

template <class V, class K, bool kAcc>
void mix_blocked(const float* p, std::int64_t nq, const K* v, std::int64_t stride, std::int64_t n,
         std::int64_t hd, float* out) {
  if (!kAcc) for (std::int64_t i = 0; i < nq * hd; ++i) out[i] = 0.0f;
  alignas(64) float buf[kBlockFloats];
  const std::int64_t block = hd < kBlockFloats ? kBlockFloats / hd : 1;
  for (std::int64_t j0 = 0; j0 < n; j0 += block) {
    const std::int64_t b = n - j0 < block ? n - j0 : block;
    std::int64_t ld = 0;
    const float* rows = rows_f32<V>(v + j0 * stride, stride, b, hd, buf, ld);
    for (std::int64_t r = 0; r < nq; ++r) accumulate<V>(p + r * n + j0, rows, ld, b, hd, out + r * hd);
  }
}

// Small GQA groups (NQ query heads known at compile time): each cache vector
// is loaded (and converted) once and used by every query, with all
// accumulators in registers. kAcc: the accumulators start from out.
template <class V, int NQ, class K>
void scores_direct(const float* q, const K* k, std::int64_t stride, std::int64_t n,
                   std::int64_t hd, float scale, float* s) {
  constexpr std::int64_t W = V::W;
  const std::int64_t hv = hd - hd % W;
  std::int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const K* k0 = k + j * stride;
    typename V::reg acc[NQ][4];
    for (int r = 0; r < NQ; ++r) {
      for (int c = 0; c < 4; ++c) acc[r][c] = V::zero();
    }
    for (std::int64_t i = 0; i < hv; i += W) {
      typename V::reg kv[4];
      for (int c = 0; c < 4; ++c) kv[c] = V::load(k0 + c * stride + i);
      for (int r = 0; r < NQ; ++r) {
        const auto qv = V::load(q + r * hd + i);
        for (int c = 0; c < 4; ++c) acc[r][c] = V::fma(qv, kv[c], acc[r][c]);
      }
    }
    for (int r = 0; r < NQ; ++r) {
      alignas(16) float t[4];
      V::reduce4(acc[r][0], acc[r][1], acc[r][2], acc[r][3], t);
      for (std::int64_t i = hv; i < hd; ++i) {
        for (int c = 0; c < 4; ++c) t[c] += q[r * hd + i] * V::scalar(k0[c * stride + i]);
      }
      for (int c = 0; c < 4; ++c) s[r * n + j + c] = scale * t[c];
    }
  }
  for (; j < n; ++j) {
    const K* kr = k + j * stride;
    for (int r = 0; r < NQ; ++r) {
      auto a = V::zero();
      for (std::int64_t i = 0; i < hv; i += W) a = V::fma(V::load(q + r * hd + i), V::load(kr + i), a);
      float t = V::reduce_add(a);
      for (std::int64_t i = hv; i < hd; ++i) t += q[r * hd + i] * V::scalar(kr[i]);
      s[r * n + j] = scale * t;
    }
  }
}

template <class V, int NQ, class K, bool kAcc>
void mix_direct(const float* p, const K* v, std::int64_t stride, std::int64_t n, std::int64_t hd,
                float* out) {
  constexpr std::int64_t W = V::W;
  std::int64_t i = 0;
  for (; i + 4 * W <= hd; i += 4 * W) {
    typename V::reg acc[NQ][4];
    for (int r = 0; r < NQ; ++r) {
      for (int c = 0; c < 4; ++c) acc[r][c] = kAcc ? V::load(out + r * hd + i + c * W) : V::zero();
    }
    for (std::int64_t j = 0; j < n; ++j) {
      typename V::reg vv[4];
      for (int c = 0; c < 4; ++c) vv[c] = V::load(v + j * stride + i + c * W);
      for (int r = 0; r < NQ; ++r) {
        const auto w = V::set1(p[r * n + j]);
        for (int c = 0; c < 4; ++c) acc[r][c] = V::fma(w, vv[c], acc[r][c]);
      }
    }
    for (int r = 0; r < NQ; ++r) {
      for (int c = 0; c < 4; ++c) V::store(out + r * hd + i + c * W, acc[r][c]);
    }
  }
  for (; i + W <= hd; i += W) {
    typename V::reg acc[NQ];
    for (int r = 0; r < NQ; ++r) acc[r] = kAcc ? V::load(out + r * hd + i) : V::zero();
    for (std::int64_t j = 0; j < n; ++j) {
      const auto vv = V::load(v + j * stride + i);
      for (int r = 0; r < NQ; ++r) acc[r] = V::fma(V::set1(p[r * n + j]), vv, acc[r]);
    }
    for (int r = 0; r < NQ; ++r) V::store(out + r * hd + i, acc[r]);
  }
  for (; i < hd; ++i) {
    for (int r = 0; r < NQ; ++r) {
      float a = kAcc ? out[r * hd + i] : 0.0f;
      for (std::int64_t j = 0; j < n; ++j) a += p[r * n + j] * V::scalar(v[j * stride + i]);
      out[r * hd + i] = a;
    }
  }
}

template <class V, class K>
void scores(const float* q, std::int64_t nq, const K* k, std::int64_t stride, std::int64_t n,
            std::int64_t hd, float scale, float* s) {
  if (nq == 1) return scores_direct<V, 1>(q, k, stride, n, hd, scale, s);
  if (nq == 2) return scores_direct<V, 2>(q, k, stride, n, hd, scale, s);
  if constexpr (V::kMaxDirect >= 4) {
    if (nq == 3) return scores_direct<V, 3>(q, k, stride, n, hd, scale, s);
    if (nq == 4) return scores_direct<V, 4>(q, k, stride, n, hd, scale, s);
  }
  scores_blocked<V>(q, nq, k, stride, n, hd, scale, s);
}

template <class V, class K, bool kAcc = false>
void mix(const float* p, std::int64_t nq, const K* v, std::int64_t stride, std::int64_t n,
         std::int64_t hd, float* out) {
  if (nq == 1) return mix_direct<V, 1, K, kAcc>(p, v, stride, n, hd, out);
  if (nq == 2) return mix_direct<V, 2, K, kAcc>(p, v, stride, n, hd, out);
  if constexpr (V::kMaxDirect >= 4) {
    if (nq == 3) return mix_direct<V, 3, K, kAcc>(p, v, stride, n, hd, out);
    if (nq == 4) return mix_direct<V, 4, K, kAcc>(p, v, stride, n, hd, out);
  }
  mix_blocked<V, K, kAcc>(p, nq, v, stride, n, hd, out);
}

template <class V>
float row_max(const float* p, std::int64_t n) {
  constexpr std::int64_t W = V::W;
  float m = p[0];
  std::int64_t j = 0;
  if (n >= W) {
    auto mv = V::load(p);
    for (j = W; j + W <= n; j += W) mv = V::max(mv, V::load(p + j));
    alignas(64) float lanes[W];
    V::store(lanes, mv);
    for (float l : lanes) m = l > m ? l : m;
  }
  for (; j < n; ++j) m = p[j] > m ? p[j] : m;
  return m;
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

// tanh GELU as x·sigmoid(2u): the same vexp as silu, no tanh needed.
template <class V>
void gelu_mul(const float* gate, const float* up, float* out, std::int64_t n) {
  constexpr std::int64_t W = V::W;
  const auto one = V::set1(1.0f), c1 = V::set1(-2.0f * 0.7978845608028654f), c3 = V::set1(0.044715f);
  std::int64_t i = 0;
  for (; i + W <= n; i += W) {
    const auto g = V::load(gate + i);
    const auto u = V::mul(c1, V::fma(V::mul(c3, V::mul(g, g)), g, g));  // -2√(2/π)(g + 0.044715g³)
    V::store(out + i, V::div(V::mul(g, V::load(up + i)), V::add(one, vexp<V>(u))));
  }
  for (; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-2.0f * 0.7978845608028654f * (g + 0.044715f * g * g * g))) * up[i];
  }
}

template <class V>
constexpr RowKernels make_row_kernels(const char* isa) {
  return RowKernels{scores<V, float>,    scores<V, std::uint16_t>, mix<V, float>,
                    mix<V, std::uint16_t>, mix<V, float, true>, mix<V, std::uint16_t, true>,
                    row_max<V>, exp_shifted<V>,         silu_mul<V>,
                    isa, gelu_mul<V>};
}

}  // namespace
}  // namespace cnai::ops::cpu
