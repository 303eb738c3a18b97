// attention_cpu — causal GQA attention, two-pass softmax: scores against the
// cache rows, max-shifted exp, then the weighted sum of values. Query heads
// sharing a KV head are computed together so the cache is read once per group.
// Decode splits heads (short caches) or positions (long caches) over the
// pool; prefill deals (token, KV head) units round-robin. Scratch is grow-only
// thread_local, so steady state allocates nothing. A sliding window reads the
// last `window` positions of a ring cache (position p in row p % cap): a span
// that wraps is scored as two runs of rows.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/row_kernels.hpp"
#include "ops/layer_ops_cpu.hpp"

namespace cnai::ops::cpu {
namespace {

struct AttentionJob {
  const float* q;
  const void* k;
  const void* v;
  bool k_f16, v_f16;
  std::int64_t n_head, n_kv, hd, pos0;
  float scale;
  float* out;
  std::int64_t window, cap;  // window 0: every earlier position; cap: cache rows

  // Positions token t attends to: [first(t), pos0 + t].
  std::int64_t first(std::int64_t t) const { return window > 0 ? std::max<std::int64_t>(0, pos0 + t - window + 1) : 0; }
};

constexpr std::int64_t kMaxGroup = 16;  // query heads handled in one pass over the cache
constexpr std::int64_t kSplitMinRows = 128;  // below this a slice is not worth a merge

float* score_scratch(std::int64_t n) {
  thread_local std::vector<float> scratch;
  if (static_cast<std::int64_t>(scratch.size()) < n) {
    scratch.resize(static_cast<std::size_t>(std::max<std::int64_t>(n, 1024)));
  }
  return scratch.data();
}

// Contiguous cache rows [r0, r0 + n) of KV head g: scores into s (row stride ns).
void score_run(const AttentionJob& a, const RowKernels& kr, const float* q, std::int64_t nq, std::int64_t g,
               std::int64_t r0, std::int64_t n, std::int64_t ns, float* s) {
  const std::int64_t stride = a.n_kv * a.hd, first = r0 * stride + g * a.hd;
  thread_local std::vector<float> run;
  float* dst = s;
  if (ns != n) {  // the second run of a wrapped span: rows of s are ns apart
    if (static_cast<std::int64_t>(run.size()) < nq * n) run.resize(static_cast<std::size_t>(nq * n));
    dst = run.data();
  }
  if (a.k_f16) {
    kr.scores_f16(q, nq, static_cast<const std::uint16_t*>(a.k) + first, stride, n, a.hd, a.scale, dst);
  } else {
    kr.scores_f32(q, nq, static_cast<const float*>(a.k) + first, stride, n, a.hd, a.scale, dst);
  }
  if (dst != s)
    for (std::int64_t r = 0; r < nq; ++r) std::copy(dst + r * n, dst + (r + 1) * n, s + r * ns);
}

// out = Σ p_j v_j over contiguous rows [r0, r0 + n) (p rows ns apart); adds when `add`.
void mix_run(const AttentionJob& a, const RowKernels& kr, const float* p, std::int64_t nq, std::int64_t g,
             std::int64_t r0, std::int64_t n, std::int64_t ns, bool add, float* out) {
  const std::int64_t stride = a.n_kv * a.hd, first = r0 * stride + g * a.hd;
  thread_local std::vector<float> pr, tmp;
  const float* pp = p;
  if (ns != n) {
    if (static_cast<std::int64_t>(pr.size()) < nq * n) pr.resize(static_cast<std::size_t>(nq * n));
    for (std::int64_t r = 0; r < nq; ++r) std::copy(p + r * ns, p + r * ns + n, pr.data() + r * n);
    pp = pr.data();
  }
  float* dst = out;
  if (add) {
    if (static_cast<std::int64_t>(tmp.size()) < nq * a.hd) tmp.resize(static_cast<std::size_t>(nq * a.hd));
    dst = tmp.data();
  }
  if (a.v_f16) {
    kr.mix_f16(pp, nq, static_cast<const std::uint16_t*>(a.v) + first, stride, n, a.hd, dst);
  } else {
    kr.mix_f32(pp, nq, static_cast<const float*>(a.v) + first, stride, n, a.hd, dst);
  }
  if (add)
    for (std::int64_t i = 0; i < nq * a.hd; ++i) out[i] += dst[i];
}

// nq query heads sharing KV head g, over positions [j0, j1): writes the
// unnormalised sum_j exp(s_j - max) v_j to out and each head's max and sum.
void attend_rows(const AttentionJob& a, const RowKernels& kr, const float* q, std::int64_t nq,
                 std::int64_t g, std::int64_t j0, std::int64_t j1, float* out, float* max_out,
                 float* sum_out) {
  const std::int64_t n = j1 - j0;
  // Positions to rows: one run, or two when the span wraps around the ring.
  const std::int64_t r0 = a.window > 0 ? j0 % a.cap : j0;
  const std::int64_t n0 = std::min(n, a.cap - r0), n1 = n - n0;
  float* s = score_scratch(nq * n);
  score_run(a, kr, q, nq, g, r0, n0, n, s);
  if (n1 > 0) score_run(a, kr, q, nq, g, 0, n1, n, s + n0);
  for (std::int64_t r = 0; r < nq; ++r) {
    float* sr = s + r * n;
    max_out[r] = kr.max(sr, n);
    sum_out[r] = kr.exp_shifted(sr, n, max_out[r]);
  }
  mix_run(a, kr, s, nq, g, r0, n0, n1 > 0 ? n : n0, false, out);
  if (n1 > 0) mix_run(a, kr, s + n0, nq, g, 0, n1, n, true, out);
}

// Query heads [h0, h1) of token t, all sharing KV head g: the cache rows are
// read once for the whole group.
void attend_group(const AttentionJob& a, const RowKernels& kr, std::int64_t t, std::int64_t h0,
                  std::int64_t h1, std::int64_t g) {
  const std::int64_t nq = h1 - h0;
  float* out = a.out + (t * a.n_head + h0) * a.hd;
  float mx[kMaxGroup], sum[kMaxGroup];
  attend_rows(a, kr, a.q + (t * a.n_head + h0) * a.hd, nq, g, a.first(t), a.pos0 + t + 1, out, mx, sum);
  for (std::int64_t r = 0; r < nq; ++r) {
    const float inv = 1.0f / sum[r];
    for (std::int64_t i = 0; i < a.hd; ++i) out[r * a.hd + i] *= inv;
  }
}

// Items are (token, head) pairs; a thread's contiguous range is cut into runs
// of heads that share a KV head, so threads balance and groups stay together.
void attend_range(const AttentionJob& a, const RowKernels& kr, std::int64_t begin,
                  std::int64_t end) {
  const std::int64_t ratio = a.n_head / a.n_kv;
  for (std::int64_t item = begin; item < end;) {
    const std::int64_t t = item / a.n_head, h = item % a.n_head;
    const std::int64_t g = h / ratio;
    const std::int64_t h_end = std::min({(g + 1) * ratio, h + (end - item), h + kMaxGroup});
    attend_group(a, kr, t, h, h_end, g);
    item += h_end - h;
  }
}

// Decode over a long cache (flash-decoding): each KV head's rows are cut into
// one slice per thread, so every cache byte is read once and threads balance;
// the per-slice softmax partials are merged by rescaling to a common max.
void attend_decode_split(const AttentionJob& a, const RowKernels& kr, ThreadPool& pool) {
  const std::int64_t lo = a.first(0), n = a.pos0 + 1 - lo, ratio = a.n_head / a.n_kv;
  const std::int64_t slices = pool.size(), units = a.n_kv * slices;
  const std::int64_t part = ratio * (a.hd + 2);  // out[ratio][hd], max[ratio], sum[ratio]
  thread_local std::vector<float> partials;
  if (static_cast<std::int64_t>(partials.size()) < units * part) {
    partials.resize(static_cast<std::size_t>(units * part));
  }
  float* base = partials.data();
  pool.run([&](int thread, int n_threads) {
    for (std::int64_t u = thread; u < units; u += n_threads) {
      const std::int64_t g = u / slices, sl = u % slices;
      const std::int64_t j0 = n * sl / slices, j1 = n * (sl + 1) / slices;
      float* p = base + u * part;
      if (j0 == j1) {
        for (std::int64_t r = 0; r < ratio; ++r) p[ratio * a.hd + r] = -INFINITY;
        continue;
      }
      attend_rows(a, kr, a.q + g * ratio * a.hd, ratio, g, lo + j0, lo + j1, p, p + ratio * a.hd,
                  p + ratio * a.hd + ratio);
    }
  });
  for (std::int64_t h = 0; h < a.n_head; ++h) {
    const std::int64_t g = h / ratio, r = h % ratio;
    float m = -INFINITY;
    for (std::int64_t sl = 0; sl < slices; ++sl) m = std::max(m, base[(g * slices + sl) * part + ratio * a.hd + r]);
    float* out = a.out + h * a.hd;
    std::fill(out, out + a.hd, 0.0f);
    float total = 0.0f;
    for (std::int64_t sl = 0; sl < slices; ++sl) {
      const float* p = base + (g * slices + sl) * part;
      const float pm = p[ratio * a.hd + r];
      if (pm == -INFINITY) continue;
      const float w = std::exp(pm - m);
      total += w * p[ratio * a.hd + ratio + r];
      for (std::int64_t i = 0; i < a.hd; ++i) out[i] += w * p[r * a.hd + i];
    }
    const float inv = 1.0f / total;
    for (std::int64_t i = 0; i < a.hd; ++i) out[i] *= inv;
  }
}

}  // namespace

void attention(const Tensor& q, const Tensor& k, const Tensor& v, std::int64_t pos0, float scale,
               Tensor& out, ThreadPool& pool, std::int64_t window) {
  const AttentionJob job{q.data_as<float>(),        k.data(), v.data(),
                         k.dtype() == DType::F16,   v.dtype() == DType::F16,
                         q.dim(1),                  k.dim(1), q.dim(2),
                         pos0,                      scale,    out.data_as<float>(),
                         window,                    k.dim(0)};
  const RowKernels& kr = row_kernels();
  const std::int64_t t_n = q.dim(0);
  const std::int64_t ratio = job.n_head / job.n_kv;
  if (t_n == 1 && pool.size() > 1 && pos0 + 1 - job.first(0) >= kSplitMinRows * pool.size() && ratio <= kMaxGroup) {
    attend_decode_split(job, kr, pool);
    return;
  }
  if (t_n == 1) {  // decode: split the heads evenly
    pool.parallel_for(job.n_head, 1, [&](std::int64_t b, std::int64_t e) {
      attend_range(job, kr, b, e);
    });
    return;
  }
  // Prefill: later tokens see more positions, so (token, KV head) units are
  // dealt round-robin rather than in contiguous ranges.
  const std::int64_t units = t_n * job.n_kv;
  pool.run([&](int thread, int n_threads) {
    for (std::int64_t u = thread; u < units; u += n_threads) {
      const std::int64_t first = (u / job.n_kv) * job.n_head + (u % job.n_kv) * ratio;
      attend_range(job, kr, first, first + ratio);
    }
  });
}

}  // namespace cnai::ops::cpu
