// attention on CUDA: causal GQA over an F32 or F16 KV cache.
//
// CPU reference (src/ops/attention_cpu.cpp), token t, head h, g = h / (H / H_kv),
// n = pos0 + t + 1:
//   s[j] = scale * dot(q[t,h,:], k[j,g,:])         j < n
//   p[j] = exp(s[j] - max s) / sum exp(s - max s)
//   out[t,h,:] = sum_j p[j] * v[j,g,:]
//
// Kernel: one block per (t, h); scores live in a global scratch row of
// n_ctx floats per block; block reductions give max and sum. Simple and
// correct first — a flash-decoding kernel would split n across blocks.
#include <cuda_fp16.h>

#include "cuda_check.cuh"
#include "device_scratch.cuh"
#include "ops/cuda_ops.hpp"
#include "reduce.cuh"

namespace cnai::ops::gpu {
namespace {

__device__ inline float to_float(float x) { return x; }
__device__ inline float to_float(__half x) { return __half2float(x); }

template <class K, class Vt>
__global__ void attention_kernel(const float* q, const K* k, const Vt* v, float* out, float* scores,
                                 int n_head, int n_kv, int hd, long long n_ctx, long long pos0,
                                 float scale) {
  const long long item = blockIdx.x;  // t * n_head + h
  const long long t = item / n_head;
  const int h = static_cast<int>(item % n_head);
  const int g = h / (n_head / n_kv);
  const long long n = pos0 + t + 1;
  const long long stride = static_cast<long long>(n_kv) * hd;
  const float* qr = q + item * hd;
  float* s = scores + item * n_ctx;
  float mx = -INFINITY;
  for (long long j = threadIdx.x; j < n; j += blockDim.x) {
    const K* kr = k + j * stride + static_cast<long long>(g) * hd;
    float d = 0.0f;
    for (int i = 0; i < hd; ++i) d += qr[i] * to_float(kr[i]);
    s[j] = d * scale;
    mx = fmaxf(mx, s[j]);
  }
  mx = cnai::cuda::block_max(mx);
  float sum = 0.0f;
  for (long long j = threadIdx.x; j < n; j += blockDim.x) {
    s[j] = expf(s[j] - mx);
    sum += s[j];
  }
  sum = cnai::cuda::block_sum(sum);  // its barrier also publishes s[] to the block
  const float inv = 1.0f / sum;
  for (int i = threadIdx.x; i < hd; i += blockDim.x) {
    float acc = 0.0f;
    for (long long j = 0; j < n; ++j) acc += s[j] * to_float(v[j * stride + static_cast<long long>(g) * hd + i]);
    out[item * hd + i] = acc * inv;
  }
}

template <class K, class Vt>
void launch(const float* q, const void* k, const void* v, float* out, float* scores,
            std::int64_t items, int n_head, int n_kv, int hd, std::int64_t n_ctx, std::int64_t pos0,
            float scale) {
  attention_kernel<K, Vt><<<static_cast<unsigned>(items), 128>>>(
      q, static_cast<const K*>(k), static_cast<const Vt*>(v), out, scores, n_head, n_kv, hd, n_ctx,
      pos0, scale);
  CNAI_CUDA_CHECK_LAUNCH("attention_kernel");
}

}  // namespace

void attention(const float* q, const void* k, bool k_f16, const void* v, bool v_f16, float* out,
               std::int64_t t, std::int64_t n_head, std::int64_t n_kv, std::int64_t hd,
               std::int64_t n_ctx, std::int64_t pos0, float scale) {
  thread_local cnai::cuda::DeviceScratch score_rows;
  const std::int64_t items = t * n_head;
  auto* scores = static_cast<float*>(score_rows.get(static_cast<std::size_t>(items * n_ctx) * sizeof(float)));
  const int nh = static_cast<int>(n_head), nk = static_cast<int>(n_kv), d = static_cast<int>(hd);
  if (k_f16 && v_f16) {
    launch<__half, __half>(q, k, v, out, scores, items, nh, nk, d, n_ctx, pos0, scale);
  } else if (k_f16) {
    launch<__half, float>(q, k, v, out, scores, items, nh, nk, d, n_ctx, pos0, scale);
  } else if (v_f16) {
    launch<float, __half>(q, k, v, out, scores, items, nh, nk, d, n_ctx, pos0, scale);
  } else {
    launch<float, float>(q, k, v, out, scores, items, nh, nk, d, n_ctx, pos0, scale);
  }
}

}  // namespace cnai::ops::gpu
