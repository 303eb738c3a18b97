// rope on CUDA.
//
// CPU reference (src/ops/rope_cpu.cpp), per token t, head h, pair i < n_rot/2:
//   theta = pos[t] * freq_scale * base^(-2i/n_rot) / freq_factors[i]
//   normal: (a, b) = (2i, 2i+1);  neox: (a, b) = (i, i + n_rot/2)
//   x[a], x[b] = x[a] cos - x[b] sin, x[a] sin + x[b] cos
//
// The cos/sin table is computed on the host in double exactly as on the CPU
// (angles reach thousands of radians) and uploaded; one thread per pair.
#include <cmath>
#include <vector>

#include "cuda_check.cuh"
#include "device_scratch.cuh"
#include "ops/cuda_ops.hpp"

namespace cnai::ops::gpu {
namespace {

__global__ void rope_kernel(float* x, const float* cos_sin, long long t_n, int h_n, int d,
                            int half, bool neox) {
  const long long idx = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= t_n * h_n * half) return;
  const int i = static_cast<int>(idx % half);
  const long long th = idx / half;  // t * h_n + h
  const long long t = th / h_n;
  const float c = cos_sin[(t * half + i) * 2], s = cos_sin[(t * half + i) * 2 + 1];
  float* head = x + th * d;
  const int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
  const float x0 = head[a], x1 = head[b];
  head[a] = x0 * c - x1 * s;
  head[b] = x0 * s + x1 * c;
}

}  // namespace

void rope(float* x, std::int64_t t, std::int64_t h, std::int64_t d, const std::int32_t* positions,
          const RopeParams& p) {
  const int half = p.n_rot / 2;
  thread_local std::vector<float> table;
  table.resize(static_cast<std::size_t>(t * half * 2));
  for (std::int64_t r = 0; r < t; ++r) {
    for (int i = 0; i < half; ++i) {
      double theta = static_cast<double>(positions[r]) * p.freq_scale *
                     std::pow(static_cast<double>(p.freq_base), -2.0 * i / p.n_rot);
      if (p.freq_factors) theta /= p.freq_factors[i];
      table[static_cast<std::size_t>((r * half + i) * 2)] = static_cast<float>(std::cos(theta));
      table[static_cast<std::size_t>((r * half + i) * 2 + 1)] = static_cast<float>(std::sin(theta));
    }
  }
  thread_local cnai::cuda::DeviceScratch scratch;
  const std::size_t bytes = table.size() * sizeof(float);
  auto* dev_table = static_cast<float*>(scratch.get(bytes));
  CNAI_CUDA_CHECK(cudaMemcpy(dev_table, table.data(), bytes, cudaMemcpyHostToDevice));
  const long long pairs = t * h * half;
  const unsigned blocks = static_cast<unsigned>((pairs + 255) / 256);
  rope_kernel<<<blocks, 256>>>(x, dev_table, t, static_cast<int>(h), static_cast<int>(d), half,
                               p.style == RopeStyle::neox);
  CNAI_CUDA_CHECK_LAUNCH("rope_kernel");
}

}  // namespace cnai::ops::gpu
