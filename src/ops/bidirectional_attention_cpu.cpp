// bidirectional_attention_cpu — each (sequence, query head, block of up to
// kQueryBlock tokens) is one unit of work: the block's query rows are gathered
// into contiguous scratch so that the row kernels score them against the
// sequence's keys together (each key block is loaded once per query block), then
// softmax per row and the weighted sum of the sequence's values. Units are
// handed out dynamically, so long and short sequences balance over the pool.
// Scratch is grow-only thread_local: steady state allocates nothing.
#include <algorithm>
#include <vector>

#include "ops/layer_ops_cpu.hpp"
#include "ops/row_kernels.hpp"

namespace cnai::ops::cpu {
namespace {

constexpr std::int64_t kQueryBlock = 16;

struct Unit {
  std::int64_t seq, head, first;  // first query row of the block, absolute
};

struct Scratch {
  std::vector<float> q, scores, out;
  void fit(std::int64_t rows, std::int64_t n_keys, std::int64_t hd) {
    auto grow = [](std::vector<float>& v, std::int64_t n) {
      if (static_cast<std::int64_t>(v.size()) < n) v.resize(static_cast<std::size_t>(n));
    };
    grow(q, rows * hd);
    grow(scores, rows * n_keys);
    grow(out, rows * hd);
  }
};

struct Job {
  const float *q, *k, *v;
  float* out;
  std::int64_t n_head, n_kv, hd;
  float scale;
  std::span<const std::int64_t> starts;
};

void attend_block(const Job& j, const RowKernels& kr, const Unit& u) {
  const std::int64_t begin = j.starts[static_cast<std::size_t>(u.seq)];
  const std::int64_t n = j.starts[static_cast<std::size_t>(u.seq) + 1] - begin;
  const std::int64_t rows = std::min(kQueryBlock, begin + n - u.first);
  const std::int64_t g = u.head / (j.n_head / j.n_kv);
  const std::int64_t q_stride = j.n_head * j.hd, kv_stride = j.n_kv * j.hd;
  thread_local Scratch s;
  s.fit(rows, n, j.hd);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* src = j.q + (u.first + r) * q_stride + u.head * j.hd;
    std::copy(src, src + j.hd, s.q.data() + r * j.hd);
  }
  const std::int64_t kv0 = begin * kv_stride + g * j.hd;
  kr.scores_f32(s.q.data(), rows, j.k + kv0, kv_stride, n, j.hd, j.scale, s.scores.data());
  float inv_sum[kQueryBlock];
  for (std::int64_t r = 0; r < rows; ++r) {
    float* sr = s.scores.data() + r * n;
    inv_sum[r] = 1.0f / kr.exp_shifted(sr, n, kr.max(sr, n));
  }
  kr.mix_f32(s.scores.data(), rows, j.v + kv0, kv_stride, n, j.hd, s.out.data());
  for (std::int64_t r = 0; r < rows; ++r) {
    float* dst = j.out + (u.first + r) * q_stride + u.head * j.hd;
    const float* o = s.out.data() + r * j.hd;
    for (std::int64_t i = 0; i < j.hd; ++i) dst[i] = o[i] * inv_sum[r];
  }
}

}  // namespace

void bidirectional_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                             std::span<const std::int64_t> seq_starts, float scale, Tensor& out,
                             ThreadPool& pool) {
  const Job job{q.data_as<float>(), k.data_as<float>(), v.data_as<float>(), out.data_as<float>(),
                q.dim(1),           k.dim(1),           q.dim(2),           scale,
                seq_starts};
  thread_local std::vector<Unit> units;
  units.clear();
  for (std::size_t s = 0; s + 1 < seq_starts.size(); ++s) {
    for (std::int64_t first = seq_starts[s]; first < seq_starts[s + 1]; first += kQueryBlock)
      for (std::int64_t h = 0; h < job.n_head; ++h) units.push_back({static_cast<std::int64_t>(s), h, first});
  }
  const RowKernels& kr = row_kernels();
  const Unit* all = units.data();
  pool.parallel_for(static_cast<std::int64_t>(units.size()), 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) attend_block(job, kr, all[i]);
  });
}

}  // namespace cnai::ops::cpu
