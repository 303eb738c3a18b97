// Quantization round trips against plain formulas written out here, from the
// GGML block layouts (not from the library's own code).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/ops/quantize.hpp"

using cnai::DType;
namespace ops = cnai::ops;

namespace {

std::vector<float> random_floats(std::size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// IEEE half -> float by its definition (sign, 5-bit exponent, 10-bit mantissa).
double half_by_definition(std::uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
  double v;
  if (exp == 0) v = std::ldexp(mant, -24);
  else if (exp == 31) v = mant ? NAN : INFINITY;
  else v = std::ldexp(1024 + mant, exp - 25);
  return sign ? -v : v;
}

std::uint16_t u16_at(const std::uint8_t* p) { std::uint16_t v; std::memcpy(&v, p, 2); return v; }

}  // namespace

TEST_CASE("f16 conversion matches the IEEE definition for every half value") {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const double ref = half_by_definition(static_cast<std::uint16_t>(h));
    const float got = ops::f16_to_f32(static_cast<std::uint16_t>(h));
    if (std::isnan(ref)) {
      REQUIRE(std::isnan(got));
      continue;
    }
    REQUIRE(static_cast<double>(got) == ref);
    REQUIRE(ops::f32_to_f16(got) == h);  // exact round trip
  }
  CHECK(ops::f32_to_f16(1.0f) == 0x3C00);
  CHECK(ops::f32_to_f16(-2.0f) == 0xC000);
  CHECK(ops::f32_to_f16(1e6f) == 0x7C00);            // overflow -> inf
  CHECK(ops::f32_to_f16(1.0f + 1.0f / 2048) == 0x3C00);  // tie rounds to even
  CHECK(ops::f32_to_f16(1.0f + 3.0f / 2048) == 0x3C02);
}

TEST_CASE("bf16 conversion keeps the top 16 bits, rounding to nearest even") {
  CHECK(ops::f32_to_bf16(1.0f) == 0x3F80);
  CHECK(ops::bf16_to_f32(0x3F80) == 1.0f);
  CHECK(ops::bf16_to_f32(0xC040) == -3.0f);
  float tie;
  std::uint32_t bits = 0x3F808000u;  // exactly halfway between 0x3F80 and 0x3F81
  std::memcpy(&tie, &bits, 4);
  CHECK(ops::f32_to_bf16(tie) == 0x3F80);
  bits = 0x3F818000u;
  std::memcpy(&tie, &bits, 4);
  CHECK(ops::f32_to_bf16(tie) == 0x3F82);
  CHECK(std::isnan(ops::bf16_to_f32(ops::f32_to_bf16(NAN))));
}

TEST_CASE("Q8_0 and Q8_1 quantize as round(x / (amax/127)) and dequantize as q*d") {
  const auto x = random_floats(96, 1);
  for (DType t : {DType::Q8_0, DType::Q8_1}) {
    const std::size_t bsz = t == DType::Q8_0 ? 34 : 36;
    std::vector<std::uint8_t> q(3 * bsz);
    ops::quantize_row(t, x.data(), q.data(), 96);
    std::vector<float> back(96);
    ops::dequantize_row(t, q.data(), back.data(), 96);
    for (int b = 0; b < 3; ++b) {
      const std::uint8_t* blk = q.data() + b * bsz;
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
      const float d = amax / 127.0f;
      CHECK(half_by_definition(u16_at(blk)) == doctest::Approx(d).epsilon(1e-3));
      const auto* qs = reinterpret_cast<const std::int8_t*>(blk + bsz - 32);
      int sum = 0;
      for (int j = 0; j < 32; ++j) {
        REQUIRE(qs[j] == static_cast<int>(std::round(x[b * 32 + j] / d)));
        sum += qs[j];
        REQUIRE(back[b * 32 + j] == doctest::Approx(qs[j] * half_by_definition(u16_at(blk))));
        REQUIRE(std::fabs(back[b * 32 + j] - x[b * 32 + j]) <= d * 0.6f + 1e-6f);  // half a step + f16 rounding of d
      }
      if (t == DType::Q8_1) CHECK(half_by_definition(u16_at(blk + 2)) == doctest::Approx(sum * d).epsilon(1e-3));
    }
  }
}

TEST_CASE("Q4_0 stores low nibbles as elements 0..15 and x = (q-8)*d") {
  const auto x = random_floats(64, 2);
  std::vector<std::uint8_t> q(2 * 18);
  ops::quantize_row(DType::Q4_0, x.data(), q.data(), 64);
  std::vector<float> back(64);
  ops::dequantize_row(DType::Q4_0, q.data(), back.data(), 64);
  for (int b = 0; b < 2; ++b) {
    const std::uint8_t* blk = q.data() + b * 18;
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j)
      if (std::fabs(x[b * 32 + j]) > amax) { amax = std::fabs(x[b * 32 + j]); max = x[b * 32 + j]; }
    const double d = half_by_definition(u16_at(blk));
    CHECK(d == doctest::Approx(max / -8.0f).epsilon(1e-3));
    for (int j = 0; j < 32; ++j) {
      const int nib = j < 16 ? (blk[2 + j] & 15) : (blk[2 + j - 16] >> 4);
      REQUIRE(back[b * 32 + j] == doctest::Approx((nib - 8) * d));
      // the far extreme clamps at q = 15, so the error is at most one step there
      REQUIRE(std::fabs(back[b * 32 + j] - x[b * 32 + j]) <= std::fabs(d) * 1.01 + 1e-3 * amax);
    }
  }
}

TEST_CASE("Q4_1 quantizes between min and max: x = q*d + m") {
  const auto x = random_floats(96, 3, 0.5f);
  std::vector<std::uint8_t> q(3 * 20);
  ops::quantize_row(DType::Q4_1, x.data(), q.data(), 96);
  std::vector<float> back(96);
  ops::dequantize_row(DType::Q4_1, q.data(), back.data(), 96);
  for (int b = 0; b < 3; ++b) {
    const std::uint8_t* blk = q.data() + b * 20;
    float lo = x[b * 32], hi = x[b * 32];
    for (int j = 0; j < 32; ++j) { lo = std::min(lo, x[b * 32 + j]); hi = std::max(hi, x[b * 32 + j]); }
    const double d = half_by_definition(u16_at(blk)), m = half_by_definition(u16_at(blk + 2));
    CHECK(d == doctest::Approx((hi - lo) / 15).epsilon(1e-3));
    CHECK(m == doctest::Approx(lo).epsilon(1e-3));
    for (int j = 0; j < 32; ++j) {
      const int nib = j < 16 ? (blk[4 + j] & 15) : (blk[4 + j - 16] >> 4);
      REQUIRE(back[b * 32 + j] == doctest::Approx(nib * d + m));
      REQUIRE(std::fabs(back[b * 32 + j] - x[b * 32 + j]) <= d * 0.51 + 2e-3 * std::fabs(lo) + 1e-4);
    }
  }
}

TEST_CASE("F16 and BF16 rows round trip within their precision") {
  const auto x = random_floats(64, 4, 10.0f);
  std::vector<std::uint16_t> h(64);
  std::vector<float> back(64);
  for (DType t : {DType::F16, DType::BF16}) {
    ops::quantize_row(t, x.data(), h.data(), 64);
    ops::dequantize_row(t, h.data(), back.data(), 64);
    const float rel = t == DType::F16 ? 1.0f / 2048 : 1.0f / 256;
    for (int i = 0; i < 64; ++i) REQUIRE(std::fabs(back[i] - x[i]) <= std::fabs(x[i]) * rel + 1e-7f);
  }
}

TEST_CASE("Q4_K dequantizes per the GGML superblock layout") {
  std::mt19937 rng(5);
  std::vector<std::uint8_t> blk(2 * 144);
  for (auto& b : blk) b = static_cast<std::uint8_t>(rng());
  for (int s = 0; s < 2; ++s) {  // sane f16 super scales
    const std::uint16_t d = ops::f32_to_f16(0.01f + 0.005f * s), dmin = ops::f32_to_f16(0.02f);
    std::memcpy(&blk[s * 144], &d, 2);
    std::memcpy(&blk[s * 144 + 2], &dmin, 2);
  }
  std::vector<float> y(512);
  ops::dequantize_row(DType::Q4_K, blk.data(), y.data(), 512);
  for (int s = 0; s < 2; ++s) {
    const std::uint8_t* b = &blk[s * 144];
    const std::uint8_t* sc = b + 4;
    const std::uint8_t* qs = b + 16;
    int scale[8], min[8];
    for (int j = 0; j < 4; ++j) {
      scale[j] = sc[j] & 63;
      min[j] = sc[j + 4] & 63;
      scale[j + 4] = (sc[j + 8] & 15) | ((sc[j] >> 6) << 4);
      min[j + 4] = (sc[j + 8] >> 4) | ((sc[j + 4] >> 6) << 4);
    }
    for (int e = 0; e < 256; ++e) {
      const int g = e / 32, chunk = e / 64, l = e % 32;
      const int q = g % 2 == 0 ? (qs[chunk * 32 + l] & 15) : (qs[chunk * 32 + l] >> 4);
      const double ref = half_by_definition(u16_at(b)) * scale[g] * q - half_by_definition(u16_at(b + 2)) * min[g];
      REQUIRE(y[s * 256 + e] == doctest::Approx(ref).epsilon(1e-5));
    }
  }
}

TEST_CASE("Q6_K dequantizes per the GGML superblock layout") {
  std::mt19937 rng(6);
  std::vector<std::uint8_t> blk(2 * 210);
  for (auto& b : blk) b = static_cast<std::uint8_t>(rng());
  for (int s = 0; s < 2; ++s) {
    const std::uint16_t d = ops::f32_to_f16(0.003f * (s + 1));
    std::memcpy(&blk[s * 210 + 208], &d, 2);
  }
  std::vector<float> y(512);
  ops::dequantize_row(DType::Q6_K, blk.data(), y.data(), 512);
  for (int s = 0; s < 2; ++s) {
    const std::uint8_t* ql = &blk[s * 210];
    const std::uint8_t* qh = ql + 128;
    const auto* scales = reinterpret_cast<const std::int8_t*>(ql + 192);
    const double d = half_by_definition(u16_at(ql + 208));
    for (int e = 0; e < 256; ++e) {
      const int h = e / 128, j = (e % 128) / 32, l = e % 32;
      const std::uint8_t lo_byte = ql[h * 64 + l + (j % 2) * 32];
      const int lo = j < 2 ? (lo_byte & 15) : (lo_byte >> 4);
      const int hi = (qh[h * 32 + l] >> (2 * j)) & 3;
      const double ref = d * scales[h * 8 + l / 16 + 2 * j] * ((lo | (hi << 4)) - 32);
      REQUIRE(y[s * 256 + e] == doctest::Approx(ref).epsilon(1e-5));
    }
  }
}

TEST_CASE("bad rows and unsupported types are rejected with clear errors") {
  std::vector<float> x(48);
  std::vector<std::uint8_t> buf(1024);
  try {
    ops::quantize_row(DType::Q8_0, x.data(), buf.data(), 48);
    FAIL("expected an error");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == cnai::ErrorCode::invalid_argument);
    CHECK(std::string(e.what()).find("48") != std::string::npos);
  }
  CHECK_THROWS_AS(ops::dequantize_row(DType::Q4_K, buf.data(), x.data(), 48), cnai::Error);
  try {
    std::vector<float> big(256);
    ops::quantize_row(DType::I16, big.data(), buf.data(), 256);
    FAIL("expected an error");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == cnai::ErrorCode::unsupported);
  }
}
