// CUDA parity: each CUDA op against the CPU op (or a scalar reference for
// matmul). Without CUDA support or without a device every case is skipped.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/ops/cuda.hpp"
#include "cnai/ops/rms_norm.hpp"
#include "cnai/ops/rope.hpp"
#include "cnai/ops/softmax.hpp"
#include "cnai/ops/swiglu.hpp"
#include "ops/half.hpp"

namespace cuda = cnai::ops::cuda;
using cnai::DType;
using cnai::Tensor;

namespace {

bool no_device() {
  static const bool none = !cuda::available();
  return none;
}

Tensor random_f32(const cnai::Shape& shape, std::uint32_t seed, float scale = 1.0f) {
  Tensor t = Tensor::empty(DType::F32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = dist(rng);
  return t;
}

double max_diff(const Tensor& a, const Tensor& b) {
  double m = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    m = std::max(m, std::abs(double(a.data_as<float>()[i]) - b.data_as<float>()[i]));
  }
  return m;
}

}  // namespace

TEST_CASE("CUDA availability is reported") {
  if (no_device()) {
    MESSAGE("skipped: no CUDA device (or cnai built without CUDA); parity cases are skipped");
  }
#ifndef CNAI_WITH_CUDA
  CHECK_FALSE(cuda::available());
  try {
    (void)cuda::DeviceTensor::empty(DType::F32, {4});
    FAIL("expected Error(unsupported)");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == cnai::ErrorCode::unsupported);
  }
#endif
}

TEST_CASE("CUDA rms_norm matches the CPU op" * doctest::skip(no_device())) {
  Tensor x = random_f32({5, 576}, 1), w = random_f32({576}, 2);
  Tensor y = Tensor::empty(DType::F32, {5, 576});
  cnai::ops::rms_norm(x, w, 1e-5f, y);
  auto dx = cuda::to_device(x);
  auto dw = cuda::to_device(w);
  auto dy = cuda::DeviceTensor::empty(DType::F32, {5, 576});
  cuda::rms_norm(dx, dw, 1e-5f, dy);
  CHECK(max_diff(cuda::to_host(dy), y) < 1e-5);
}

TEST_CASE("CUDA rope matches the CPU op in both styles" * doctest::skip(no_device())) {
  for (auto style : {cnai::ops::RopeStyle::normal, cnai::ops::RopeStyle::neox}) {
    Tensor x = random_f32({3, 9, 80}, 3);
    cnai::ops::RopeParams p;
    p.n_rot = 64;
    p.style = style;
    const std::vector<std::int32_t> pos = {0, 17, 4000};
    auto dx = cuda::to_device(x);
    cnai::ops::rope(x, pos, p);
    cuda::rope(dx, pos, p);
    CHECK(max_diff(cuda::to_host(dx), x) < 1e-5);
  }
}

TEST_CASE("CUDA softmax and swiglu match the CPU ops" * doctest::skip(no_device())) {
  Tensor x = random_f32({3, 49152}, 4, 20.0f);
  auto dx = cuda::to_device(x);
  cnai::ops::softmax(x);
  cuda::softmax(dx);
  CHECK(max_diff(cuda::to_host(dx), x) < 1e-6);
  Tensor g = random_f32({2, 1536}, 5, 6.0f), u = random_f32({2, 1536}, 6);
  Tensor o = Tensor::empty(DType::F32, {2, 1536});
  cnai::ops::swiglu(g, u, o);
  auto dout = cuda::DeviceTensor::empty(DType::F32, {2, 1536});
  cuda::swiglu(cuda::to_device(g), cuda::to_device(u), dout);
  CHECK(max_diff(cuda::to_host(dout), o) < 1e-5);
}

namespace {

// Builds weights of `type` from w (round-to-nearest like GGML's reference
// quantizers) and returns the values they decode to, for the reference.
Tensor quantize_weights(DType type, const Tensor& w, std::vector<float>& decoded) {
  const std::int64_t n = w.dim(0), k = w.dim(1);
  Tensor q = Tensor::empty(type, {n, k});
  decoded.assign(static_cast<std::size_t>(n * k), 0.0f);
  auto* out = static_cast<std::uint8_t*>(q.data());
  for (std::int64_t b = 0; b < n * k / 32; ++b) {
    const float* src = w.data_as<float>() + b * 32;
    float* dec = decoded.data() + b * 32;
    float amax = 0, mn = src[0], mx = src[0];
    for (int j = 0; j < 32; ++j) {
      amax = std::max(amax, std::abs(src[j]));
      mn = std::min(mn, src[j]);
      mx = std::max(mx, src[j]);
    }
    auto put_half = [](std::uint8_t* p, float f) {
      const std::uint16_t h = cnai::ops::half::from_f32(f);
      std::memcpy(p, &h, 2);
      return cnai::ops::half::to_f32(h);
    };
    if (type == DType::Q8_0) {
      std::uint8_t* blk = out + b * 34;
      const float d = put_half(blk, amax / 127.0f);
      for (int j = 0; j < 32; ++j) {
        const int v = d ? int(std::lround(src[j] / d)) : 0;
        blk[2 + j] = static_cast<std::uint8_t>(static_cast<std::int8_t>(std::clamp(v, -127, 127)));
        dec[j] = d * float(std::clamp(v, -127, 127));
      }
    } else {  // Q4_1
      std::uint8_t* blk = out + b * 20;
      const float d = put_half(blk, (mx - mn) / 15.0f);
      const float m = put_half(blk + 2, mn);
      for (int j = 0; j < 16; ++j) {
        int lo = d ? int(std::lround((src[j] - m) / d)) : 0, hi = d ? int(std::lround((src[j + 16] - m) / d)) : 0;
        lo = std::clamp(lo, 0, 15);
        hi = std::clamp(hi, 0, 15);
        blk[4 + j] = static_cast<std::uint8_t>(lo | (hi << 4));
        dec[j] = d * float(lo) + m;
        dec[j + 16] = d * float(hi) + m;
      }
    }
  }
  return q;
}

}  // namespace

TEST_CASE("CUDA matmul matches a scalar reference for F32, F16, Q8_0 and Q4_1 weights" *
          doctest::skip(no_device())) {
  const std::int64_t m = 3, n = 40, k = 96;
  Tensor x = random_f32({m, k}, 7), w = random_f32({n, k}, 8);
  for (DType type : {DType::F32, DType::F16, DType::Q8_0, DType::Q4_1}) {
    CAPTURE(int(type));
    std::vector<float> wv(w.data_as<float>(), w.data_as<float>() + w.numel());
    Tensor wt = w;
    if (type == DType::F16) {
      wt = Tensor::empty(DType::F16, {n, k});
      for (std::int64_t i = 0; i < w.numel(); ++i) {
        wt.data_as<std::uint16_t>()[i] = cnai::ops::half::from_f32(wv[std::size_t(i)]);
        wv[std::size_t(i)] = cnai::ops::half::to_f32(wt.data_as<std::uint16_t>()[i]);
      }
    } else if (type != DType::F32) {
      wt = quantize_weights(type, w, wv);
    }
    auto dy = cuda::DeviceTensor::empty(DType::F32, {m, n});
    cuda::matmul(cuda::to_device(x), cuda::to_device(wt), dy);
    Tensor y = cuda::to_host(dy);
    double worst = 0;
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        double ref = 0;
        for (std::int64_t l = 0; l < k; ++l) ref += double(x.data_as<float>()[i * k + l]) * wv[std::size_t(j * k + l)];
        worst = std::max(worst, std::abs(ref - y.data_as<float>()[i * n + j]));
      }
    }
    // F16 path rounds x to half as well.
    CHECK(worst < (type == DType::F16 ? 3e-2 : 1e-3));
  }
}

#include "cnai/ops/attention.hpp"

TEST_CASE("CUDA attention matches the CPU op for F32 and F16 caches" * doctest::skip(no_device())) {
  cnai::ThreadPool pool(2);
  for (DType dt : {DType::F32, DType::F16}) {
    const std::int64_t t = 3, n_head = 9, n_kv = 3, hd = 64, n_ctx = 300, pos0 = 200;
    Tensor kf = random_f32({n_ctx, n_kv, hd}, 9), vf = random_f32({n_ctx, n_kv, hd}, 10);
    Tensor k = kf, v = vf;
    if (dt == DType::F16) {
      k = Tensor::empty(DType::F16, kf.shape());
      v = Tensor::empty(DType::F16, vf.shape());
      for (std::int64_t i = 0; i < kf.numel(); ++i) {
        k.data_as<std::uint16_t>()[i] = cnai::ops::half::from_f32(kf.data_as<float>()[i]);
        v.data_as<std::uint16_t>()[i] = cnai::ops::half::from_f32(vf.data_as<float>()[i]);
      }
    }
    Tensor q = random_f32({t, n_head, hd}, 11);
    Tensor out = Tensor::empty(DType::F32, {t, n_head, hd});
    cnai::ops::attention(q, k, v, pos0, 0.125f, out, pool);
    auto dout = cuda::DeviceTensor::empty(DType::F32, {t, n_head, hd});
    cuda::attention(cuda::to_device(q), cuda::to_device(k), cuda::to_device(v), pos0, 0.125f, dout);
    CHECK(max_diff(cuda::to_host(dout), out) < 1e-5);
  }
}
