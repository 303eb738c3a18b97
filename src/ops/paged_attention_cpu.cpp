// paged_attention_cpu — causal GQA attention whose keys and values come block by
// block from a paged cache. The arithmetic is attention_cpu's: scores against
// the cache rows, max-shifted exp, weighted sum of values, with the query
// heads of a GQA group computed together. A span's rows are visited one run
// of consecutive cache rows at a time — scores land in one contiguous row per
// head (so max and exp see the whole span) and the value sum continues its
// chain across runs (mix_acc) — so the result does not depend on where the
// blocks lie.
// Work split: a lone decode row splits heads (short spans) or block-aligned
// position slices (long spans); several rows, and every row when the batch
// must not change the result, deal (row, KV head) units round-robin.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/paged_attention_cpu.hpp"
#include "ops/row_kernels.hpp"

namespace cnai::ops::cpu {
namespace {

// A stretch of a span's positions [pos, pos + len) in consecutive cache rows
// from `row` on.
struct Run {
  std::int64_t pos, row, len;
};

struct PagedJob {
  const Run* runs;              // every row's runs, row after row
  const std::size_t* row_runs;  // row t's are runs[row_runs[t] .. row_runs[t + 1])
  const float* q;
  const std::uint8_t* k;
  const std::uint8_t* v;
  bool k_f16, v_f16;
  std::int64_t n_head, n_kv, hd, bs;
  std::span<const AttentionSpan> spans;
  float scale;
  float* out;
};

constexpr std::int64_t kMaxGroup = 16;       // query heads handled in one pass over the cache
constexpr std::int64_t kSplitMinRows = 128;  // below this a slice is not worth a merge

// Grow-only per-thread scratch: scores [nq x n] and one run's [nq x len] piece.
struct Scratch {
  std::vector<float> scores, piece;
  float* get(std::vector<float>& v, std::int64_t n) {
    if (static_cast<std::int64_t>(v.size()) < n) v.resize(static_cast<std::size_t>(std::max<std::int64_t>(n, 1024)));
    return v.data();
  }
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// A span's runs: to the end of the first position's block, then on through
// blocks that follow each other in memory. The first run never extends past
// its own block, so wherever the blocks lie every later run starts at a block
// boundary and the kernels group rows the same way.
void append_runs(const AttentionSpan& span, std::int64_t bs, std::vector<Run>& out) {
  const auto block = [&](std::int64_t b) { return std::int64_t{span.blocks[static_cast<std::size_t>(b)]}; };
  const std::int64_t end = span.last + 1;
  for (std::int64_t p = span.first; p < end;) {
    std::int64_t b = p / bs, stop = std::min(end, (b + 1) * bs);
    const std::int64_t row = block(b) * bs + p % bs;
    if (p % bs == 0)
      while (stop < end && block(b + 1) == block(b) + 1) stop = std::min(end, (++b + 1) * bs);
    out.push_back({p, row, stop - p});
    p = stop;
  }
}

// Calls fn(run) for row t's runs clipped to [j0, j1) (block-aligned cuts
// keep them starting at block boundaries).
template <class F>
void for_runs(const PagedJob& a, std::int64_t t, std::int64_t j0, std::int64_t j1, F&& fn) {
  for (std::size_t i = a.row_runs[static_cast<std::size_t>(t)]; i < a.row_runs[static_cast<std::size_t>(t) + 1]; ++i) {
    const Run& r = a.runs[i];
    const std::int64_t lo = std::max(j0, r.pos), hi = std::min(j1, r.pos + r.len);
    if (lo < hi) fn(Run{lo, r.row + (lo - r.pos), hi - lo});
  }
}

void block_scores(const PagedJob& a, const RowKernels& kr, const float* q, std::int64_t nq, std::int64_t off,
                  std::int64_t len, float* s) {
  const std::int64_t stride = a.n_kv * a.hd;
  if (a.k_f16) {
    kr.scores_f16(q, nq, reinterpret_cast<const std::uint16_t*>(a.k) + off, stride, len, a.hd, a.scale, s);
  } else {
    kr.scores_f32(q, nq, reinterpret_cast<const float*>(a.k) + off, stride, len, a.hd, a.scale, s);
  }
}

void block_mix(const PagedJob& a, const RowKernels& kr, const float* p, std::int64_t nq, std::int64_t off,
               std::int64_t len, float* out) {
  const std::int64_t stride = a.n_kv * a.hd;
  if (a.v_f16) {
    kr.mix_acc_f16(p, nq, reinterpret_cast<const std::uint16_t*>(a.v) + off, stride, len, a.hd, out);
  } else {
    kr.mix_acc_f32(p, nq, reinterpret_cast<const float*>(a.v) + off, stride, len, a.hd, out);
  }
}

// nq query heads sharing KV head g, over positions [j0, j1) of the span's
// sequence: writes the unnormalised sum_j exp(s_j - max) v_j to out and each
// head's max and sum. The kernels see one run of consecutive rows per call.
void attend_rows(const PagedJob& a, const RowKernels& kr, std::int64_t t, const float* q, std::int64_t nq,
                 std::int64_t g, std::int64_t j0, std::int64_t j1, float* out, float* max_out, float* sum_out) {
  const std::int64_t n = j1 - j0;
  Scratch& sc = scratch();
  float* s = sc.get(sc.scores, nq * n);
  const auto offset = [&](const Run& r) { return (r.row * a.n_kv + g) * a.hd; };
  for_runs(a, t, j0, j1, [&](const Run& r) {
    if (nq == 1 || r.len == n) {  // the kernel's [nq x len] layout is s's own
      block_scores(a, kr, q, nq, offset(r), r.len, s + (r.pos - j0));
    } else {
      float* piece = sc.get(sc.piece, nq * r.len);
      block_scores(a, kr, q, nq, offset(r), r.len, piece);
      for (std::int64_t h = 0; h < nq; ++h) std::copy_n(piece + h * r.len, r.len, s + h * n + (r.pos - j0));
    }
  });
  for (std::int64_t h = 0; h < nq; ++h) {
    float* sh = s + h * n;
    max_out[h] = kr.max(sh, n);
    sum_out[h] = kr.exp_shifted(sh, n, max_out[h]);
  }
  std::fill(out, out + nq * a.hd, 0.0f);
  for_runs(a, t, j0, j1, [&](const Run& r) {
    if (nq == 1 || r.len == n) {
      block_mix(a, kr, s + (r.pos - j0), nq, offset(r), r.len, out);
    } else {
      float* piece = sc.get(sc.piece, nq * r.len);
      for (std::int64_t h = 0; h < nq; ++h) std::copy_n(s + h * n + (r.pos - j0), r.len, piece + h * r.len);
      block_mix(a, kr, piece, nq, offset(r), r.len, out);
    }
  });
}

// Query heads [h0, h1) of row t, all sharing KV head g, over the row's whole span.
void attend_group(const PagedJob& a, const RowKernels& kr, std::int64_t t, std::int64_t h0, std::int64_t h1,
                  std::int64_t g) {
  const AttentionSpan& span = a.spans[static_cast<std::size_t>(t)];
  const std::int64_t nq = h1 - h0;
  float* out = a.out + (t * a.n_head + h0) * a.hd;
  float mx[kMaxGroup], sum[kMaxGroup];
  attend_rows(a, kr, t, a.q + (t * a.n_head + h0) * a.hd, nq, g, span.first, span.last + 1, out, mx, sum);
  for (std::int64_t r = 0; r < nq; ++r) {
    const float inv = 1.0f / sum[r];
    for (std::int64_t i = 0; i < a.hd; ++i) out[r * a.hd + i] *= inv;
  }
}

// Items are (row, head) pairs; a thread's contiguous range is cut into runs
// of heads that share a KV head, so threads balance and groups stay together.
void attend_range(const PagedJob& a, const RowKernels& kr, std::int64_t begin, std::int64_t end) {
  const std::int64_t ratio = a.n_head / a.n_kv;
  for (std::int64_t item = begin; item < end;) {
    const std::int64_t t = item / a.n_head, h = item % a.n_head;
    const std::int64_t g = h / ratio;
    const std::int64_t h_end = std::min({(g + 1) * ratio, h + (end - item), h + kMaxGroup});
    attend_group(a, kr, t, h, h_end, g);
    item += h_end - h;
  }
}

// One decode row over a long span (flash-decoding): each KV head's positions
// are cut into one block-aligned slice per thread, so every cache byte is read
// once and threads balance; the per-slice softmax partials are merged by
// rescaling to a common max.
void attend_decode_split(const PagedJob& a, const RowKernels& kr, ThreadPool& pool) {
  const AttentionSpan& span = a.spans[0];
  const std::int64_t first = span.first, n = span.last + 1 - first, ratio = a.n_head / a.n_kv;
  const std::int64_t slices = pool.size(), units = a.n_kv * slices;
  const std::int64_t part = ratio * (a.hd + 2);  // out[ratio][hd], max[ratio], sum[ratio]
  auto cut = [&](std::int64_t sl) {
    if (sl == 0) return first;
    if (sl == slices) return span.last + 1;
    return std::max(first, (first + n * sl / slices) / a.bs * a.bs);
  };
  thread_local std::vector<float> partials;
  if (static_cast<std::int64_t>(partials.size()) < units * part) partials.resize(static_cast<std::size_t>(units * part));
  float* base = partials.data();
  pool.run([&](int thread, int n_threads) {
    for (std::int64_t u = thread; u < units; u += n_threads) {
      const std::int64_t g = u / slices, sl = u % slices;
      const std::int64_t j0 = cut(sl), j1 = cut(sl + 1);
      float* p = base + u * part;
      if (j0 == j1) {
        for (std::int64_t r = 0; r < ratio; ++r) p[ratio * a.hd + r] = -INFINITY;
        continue;
      }
      attend_rows(a, kr, 0, a.q + g * ratio * a.hd, ratio, g, j0, j1, p, p + ratio * a.hd,
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

void paged_attention(const Tensor& q, const PagedKv& kv, std::span<const AttentionSpan> spans, float scale,
                     Tensor& out, ThreadPool& pool, bool batch_invariant) {
  thread_local std::vector<Run> runs;
  thread_local std::vector<std::size_t> row_runs;
  runs.clear();
  row_runs.assign(1, 0);
  for (const AttentionSpan& span : spans) {
    append_runs(span, kv.block_size, runs);
    row_runs.push_back(runs.size());
  }
  const PagedJob job{runs.data(),
                     row_runs.data(),
                     q.data_as<float>(),
                     kv.k->data_as<std::uint8_t>(),
                     kv.v->data_as<std::uint8_t>(),
                     kv.k->dtype() == DType::F16,
                     kv.v->dtype() == DType::F16,
                     q.dim(1),
                     kv.k->dim(1),
                     q.dim(2),
                     kv.block_size,
                     spans,
                     scale,
                     out.data_as<float>()};
  const RowKernels& kr = row_kernels();
  const std::int64_t t_n = q.dim(0);
  const std::int64_t ratio = job.n_head / job.n_kv;
  if (t_n == 1 && !batch_invariant) {
    const std::int64_t n = spans[0].last + 1 - spans[0].first;
    if (pool.size() > 1 && n >= kSplitMinRows * pool.size() && ratio <= kMaxGroup) {
      attend_decode_split(job, kr, pool);
    } else {  // split the heads evenly
      pool.parallel_for(job.n_head, 1, [&](std::int64_t b, std::int64_t e) { attend_range(job, kr, b, e); });
    }
    return;
  }
  // Several rows (or batch invariance): later positions see more of the
  // cache, so (row, KV head) units are dealt round-robin rather than in
  // contiguous ranges; every row's heads are grouped by KV head whatever the
  // batch, so a row's arithmetic is its own.
  const std::int64_t units = t_n * job.n_kv;
  pool.run([&](int thread, int n_threads) {
    for (std::int64_t u = thread; u < units; u += n_threads) {
      const std::int64_t first = (u / job.n_kv) * job.n_head + (u % job.n_kv) * ratio;
      attend_range(job, kr, first, first + ratio);
    }
  });
}

}  // namespace cnai::ops::cpu
