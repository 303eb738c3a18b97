// attention_cpu — causal GQA attention, two-pass softmax per (token, head):
// scores against the cache rows, max-shifted exp, then the weighted sum of
// values. Work items are (token, head) pairs spread over the pool; the score
// buffer is grow-only thread_local scratch, so steady state allocates nothing.
#include <algorithm>
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
};

float* score_scratch(std::int64_t n) {
  thread_local std::vector<float> scratch;
  if (static_cast<std::int64_t>(scratch.size()) < n) {
    scratch.resize(static_cast<std::size_t>(std::max<std::int64_t>(n, 1024)));
  }
  return scratch.data();
}

// Query heads [h0, h1) of token t, all sharing KV head g: the cache rows are
// read once for the whole group.
void attend_group(const AttentionJob& a, const RowKernels& kr, std::int64_t t, std::int64_t h0,
                  std::int64_t h1, std::int64_t g) {
  const std::int64_t nq = h1 - h0;
  const std::int64_t n = a.pos0 + t + 1;  // causal: positions 0 .. pos0 + t
  const std::int64_t stride = a.n_kv * a.hd;
  const float* q = a.q + (t * a.n_head + h0) * a.hd;
  float* out = a.out + (t * a.n_head + h0) * a.hd;
  float* s = score_scratch(nq * n);
  if (a.k_f16) {
    kr.scores_f16(q, nq, static_cast<const std::uint16_t*>(a.k) + g * a.hd, stride, n, a.hd,
                  a.scale, s);
  } else {
    kr.scores_f32(q, nq, static_cast<const float*>(a.k) + g * a.hd, stride, n, a.hd, a.scale, s);
  }
  for (std::int64_t r = 0; r < nq; ++r) {
    float* sr = s + r * n;
    const float mx = *std::max_element(sr, sr + n);
    const float inv = 1.0f / kr.exp_shifted(sr, n, mx);
    for (std::int64_t j = 0; j < n; ++j) sr[j] *= inv;
  }
  if (a.v_f16) {
    kr.mix_f16(s, nq, static_cast<const std::uint16_t*>(a.v) + g * a.hd, stride, n, a.hd, out);
  } else {
    kr.mix_f32(s, nq, static_cast<const float*>(a.v) + g * a.hd, stride, n, a.hd, out);
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
    const std::int64_t h_end = std::min((g + 1) * ratio, h + (end - item));
    attend_group(a, kr, t, h, h_end, g);
    item += h_end - h;
  }
}

}  // namespace

void attention(const Tensor& q, const Tensor& k, const Tensor& v, std::int64_t pos0, float scale,
               Tensor& out, ThreadPool& pool) {
  const AttentionJob job{q.data_as<float>(),        k.data(), v.data(),
                         k.dtype() == DType::F16,   v.dtype() == DType::F16,
                         q.dim(1),                  k.dim(1), q.dim(2),
                         pos0,                      scale,    out.data_as<float>()};
  const RowKernels& kr = row_kernels();
  pool.parallel_for(q.dim(0) * q.dim(1), 1, [&](std::int64_t b, std::int64_t e) {
    attend_range(job, kr, b, e);
  });
}

}  // namespace cnai::ops::cpu
