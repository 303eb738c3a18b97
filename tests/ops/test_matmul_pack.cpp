// Packed weight layouts (Q4_0/Q4_1/Q8_0/Q5_0/Q5_1/Q3_K/Q4_K/Q6_K_R16): packing round-trips every row,
// and matmul/embedding on a packed matrix equal the same ops on the original
// at awkward shapes (1 row, N not a multiple of 16, odd block counts), in
// every kernel family (families without a packed kernel unpack on the fly).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cnai/ops/embedding.hpp"
#include "cnai/ops/matmul.hpp"
#include "cnai/ops/quantize.hpp"
#include "matmul_test_inputs.hpp"
#include "ops/matmul_kernels.hpp"
#include "ops/matmul_pack.hpp"

using cnai::DType;
using cnai::Tensor;
namespace ops = cnai::ops;
using cnai::testing::random_f32;
using cnai::testing::random_weight;

namespace {


// y against Σ x·w in double over the original (unpacked) weights, with x as
// the kernels see it (Q8 round trip); tolerance relative to Σ |x·w|.
void check_reference(const Tensor& x, const Tensor& w, const float* y, std::int64_t ldy, const std::string& what) {
  const std::int64_t m = x.rows(), k = x.dim(1), n = w.dim(0);
  const bool kq = w.dtype() == DType::Q3_K || w.dtype() == DType::Q4_K || w.dtype() == DType::Q6_K;
  const DType act = kq ? DType::Q8_K : w.dtype() == DType::Q4_1 || w.dtype() == DType::Q5_1 ? DType::Q8_1 : DType::Q8_0;
  std::vector<std::uint8_t> buf(cnai::row_bytes(act, k));
  std::vector<float> xr(static_cast<std::size_t>(m * k)), wr(static_cast<std::size_t>(k));
  for (std::int64_t i = 0; i < m; ++i) {
    ops::quantize_row(act, x.data_as<float>() + i * k, buf.data(), k);
    ops::dequantize_row(act, buf.data(), xr.data() + i * k, k);
  }
  for (std::int64_t c = 0; c < n; ++c) {
    ops::dequantize_row(w.dtype(), w.row_ptr(c), wr.data(), k);
    for (std::int64_t i = 0; i < m; ++i) {
      double ref = 0.0, mag = 0.0;
      for (std::int64_t j = 0; j < k; ++j) {
        const double p = static_cast<double>(xr[static_cast<std::size_t>(i * k + j)]) * wr[static_cast<std::size_t>(j)];
        ref += p;
        mag += std::fabs(p);
      }
      const double got = y[i * ldy + c];
      INFO(what, " at y[", i, ", ", c, "] ref=", ref, " got=", got);
      REQUIRE(std::fabs(got - ref) <= 2e-3 * mag + 1e-5);
    }
  }
}

struct IsaGuard {
  ~IsaGuard() { ops::force_matmul_isa(nullptr); }
};

// Every packed base type, and row lengths that exercise it (odd block counts;
// whole super-blocks for the K-quants).
const DType kPackedBases[] = {DType::Q4_0, DType::Q4_1, DType::Q8_0, DType::Q5_0, DType::Q5_1, DType::Q3_K, DType::Q4_K, DType::Q6_K};
std::vector<std::int64_t> lengths(DType t, bool small) {
  if (t == DType::Q3_K || t == DType::Q4_K || t == DType::Q6_K) return small ? std::vector<std::int64_t>{256} : std::vector<std::int64_t>{256, 768};
  return small ? std::vector<std::int64_t>{96} : std::vector<std::int64_t>{32, 96, 544};
}

std::vector<const char*> families() {
  std::vector<const char*> out;
  for (const char* name : {"scalar", "avx2", "avx512"})
    if (ops::force_matmul_isa(name)) out.push_back(name);
  ops::force_matmul_isa(nullptr);
  return out;
}

// Packs w with the default family; false (with a message) when it has no
// packed kernel on this CPU.
bool pack_or_skip(const Tensor& w, Tensor& packed) {
  packed = ops::pack_for_matmul(w);
  if (packed.data() == w.data()) {
    MESSAGE("no packed kernel for ", cnai::to_string(w.dtype()), " with ", ops::matmul_isa(), ": skipped");
    return false;
  }
  return true;
}

// x times w packed, in every family, against the reference; false (skipped)
// when w does not pack here.
bool check_packed_in_every_family(const Tensor& x, const Tensor& w, cnai::ThreadPool& pool, const std::string& what) {
  Tensor p;
  if (!pack_or_skip(w, p)) return false;
  const std::int64_t m = x.rows(), n = w.dim(0);
  for (const char* isa : families()) {
    REQUIRE(ops::force_matmul_isa(isa));
    Tensor y = Tensor::empty(DType::F32, {m, n});
    ops::matmul(x, p, y, pool);
    check_reference(x, w, y.data_as<float>(), n, std::string(isa) + " " + what + " " + std::string(cnai::to_string(w.dtype())));
  }
  return true;
}

}  // namespace

TEST_CASE("packing round-trips every row of every packed type") {
  for (DType t : kPackedBases)
    for (std::int64_t k : lengths(t, false))
      for (std::int64_t n : {1, 15, 16, 17, 50}) {
        const Tensor w = random_weight(t, n, k, static_cast<unsigned>(n * 1000 + k));
        Tensor p;
        if (!pack_or_skip(w, p)) return;
        CHECK(ops::is_packed(p.dtype()));
        CHECK(ops::packed_base(p.dtype()) == t);
        CHECK(p.shape() == w.shape());
        CHECK(reinterpret_cast<std::uintptr_t>(p.data()) % 64 == 0);
        CHECK(ops::packed_group_bytes(p.dtype(), k) % 64 == 0);
        std::vector<std::uint8_t> row(w.row_bytes());
        for (std::int64_t r = 0; r < n; ++r) {
          ops::unpack_row(p.dtype(), p.data_as<std::uint8_t>(), k, r, row.data());
          INFO(cnai::to_string(t), " N=", n, " K=", k, " row ", r);
          REQUIRE(std::memcmp(row.data(), w.row_ptr(r), row.size()) == 0);
        }
      }
}

TEST_CASE("matmul on packed weights matches the reference at awkward shapes in every family") {
  IsaGuard guard;
  cnai::ThreadPool pool1(1), pool2(2), pool3(3);
  for (DType t : kPackedBases) {
    unsigned seed = 100;
    for (std::int64_t k : lengths(t, false))
      for (std::int64_t n : {1, 15, 17, 50}) {
        const Tensor w = random_weight(t, n, k, ++seed);
        Tensor p;
        if (!pack_or_skip(w, p)) return;
        for (const char* isa : families()) {
          REQUIRE(ops::force_matmul_isa(isa));
          for (std::int64_t m : {1, 2, 5, 9}) {
            const Tensor x = random_f32(m, k, ++seed);
            Tensor y = Tensor::empty(DType::F32, {m, n});
            ops::matmul(x, p, y, n == 50 ? (m % 2 ? pool2 : pool3) : pool1);
            check_reference(x, w, y.data_as<float>(), n,
                            std::string(isa) + " " + std::string(cnai::to_string(p.dtype())) + " M=" +
                                std::to_string(m) + " N=" + std::to_string(n) + " K=" + std::to_string(k));
          }
        }
        ops::force_matmul_isa(nullptr);
      }
  }
}

TEST_CASE("matmul_many mixes packed and plain targets whose row counts are not multiples of 16") {
  const std::int64_t m = 3, k = 96;
  const Tensor x = random_f32(m, k, 1);
  const Tensor wa = random_weight(DType::Q4_1, 21, k, 2), wb = random_weight(DType::Q8_0, 7, k, 3),
               wc = random_weight(DType::Q8_0, 40, k, 4);
  Tensor pa, pc;
  if (!pack_or_skip(wa, pa) || !pack_or_skip(wc, pc)) return;
  cnai::ThreadPool pool(2);
  Tensor ya = Tensor::empty(DType::F32, {m, 21}), yb = Tensor::empty(DType::F32, {m, 7}),
         yc = Tensor::empty(DType::F32, {m, 40});
  const ops::MatmulTarget targets[] = {{&pa, &ya}, {&wb, &yb}, {&pc, &yc}};
  ops::matmul_many(x, targets, pool);
  check_reference(x, wa, ya.data_as<float>(), 21, "many/packed q4_1");
  check_reference(x, wb, yb.data_as<float>(), 7, "many/plain q8_0");
  check_reference(x, wc, yc.data_as<float>(), 40, "many/packed q8_0");
}

TEST_CASE("embedding reads rows of a packed (tied) matrix exactly as of the original") {
  for (DType t : kPackedBases) {
    const std::int64_t k = lengths(t, true).front();
    const Tensor w = random_weight(t, 37, k, 9);
    Tensor p;
    if (!pack_or_skip(w, p)) return;
    const std::vector<std::int32_t> ids{0, 36, 15, 16, 17, 5};
    Tensor a = Tensor::empty(DType::F32, {6, k}), b = Tensor::empty(DType::F32, {6, k});
    ops::embedding(w, ids, a);
    ops::embedding(p, ids, b);
    CHECK(std::memcmp(a.data(), b.data(), a.nbytes()) == 0);
  }
}

TEST_CASE("packed layouts are not file types") {
  CHECK_FALSE(cnai::dtype_traits(static_cast<std::uint32_t>(DType::Q4_1_R16)).has_value());
  CHECK_FALSE(cnai::dtype_traits(static_cast<std::uint32_t>(DType::Q8_0_R16)).has_value());
  CHECK_FALSE(cnai::dtype_traits(static_cast<std::uint32_t>(DType::Q5_0_R16)).has_value());
  CHECK_FALSE(cnai::dtype_traits(static_cast<std::uint32_t>(DType::Q5_1_R16)).has_value());
  CHECK_FALSE(cnai::dtype_traits(static_cast<std::uint32_t>(DType::Q4_K_R16)).has_value());
  CHECK_FALSE(cnai::dtype_traits(static_cast<std::uint32_t>(DType::Q6_K_R16)).has_value());
  CHECK_FALSE(cnai::dtype_traits(static_cast<std::uint32_t>(DType::Q4_0_R16)).has_value());
  CHECK(cnai::traits(DType::Q4_0_R16).name == "Q4_0_R16");
  CHECK_FALSE(cnai::dtype_traits(static_cast<std::uint32_t>(DType::Q3_K_R16)).has_value());
  CHECK(cnai::traits(DType::Q3_K_R16).block_size == 256);
  CHECK(cnai::traits(DType::Q6_K_R16).block_size == 256);
  CHECK(cnai::traits(DType::Q8_0_R16).block_size == 32);
  CHECK(ops::matmul_supports(DType::Q4_1_R16));
}

TEST_CASE("pack_for_matmul leaves types without a packed layout alone and copies float matrices unchanged") {
  const Tensor w = random_weight(DType::Q5_K, 16, 256, 3);
  CHECK(ops::pack_for_matmul(w).data() == w.data());
  const Tensor f = random_f32(17, 63, 4);
  const Tensor c = ops::pack_for_matmul(f);
  CHECK(c.dtype() == DType::F32);
  CHECK(c.shape() == f.shape());
  CHECK(c.data() != f.data());
  CHECK(std::memcmp(c.data(), f.data(), f.nbytes()) == 0);
}

TEST_CASE("several matrices packed into one allocation equal each packed alone") {
  const Tensor a = random_weight(DType::Q8_0, 33, 96, 1), b = random_weight(DType::F16, 8, 64, 2),
               c = random_weight(DType::Q4_1, 17, 64, 3);
  Tensor pa;
  if (!pack_or_skip(a, pa)) return;
  const Tensor* ws[] = {&a, &b, &c};
  std::vector<const Tensor*> seen;
  const std::vector<Tensor> out = ops::pack_for_matmul(ws, [&](const Tensor& src) { seen.push_back(&src); });
  REQUIRE(out.size() == 3);
  CHECK(seen == std::vector<const Tensor*>{&a, &b, &c});
  CHECK(out[1].dtype() == DType::F16);
  CHECK(std::memcmp(out[1].data(), b.data(), b.nbytes()) == 0);
  const Tensor pc = ops::pack_for_matmul(c);
  for (std::size_t i : {std::size_t{0}, std::size_t{2}}) {
    const Tensor& alone = i == 0 ? pa : pc;
    CHECK(out[i].dtype() == alone.dtype());
    CHECK(reinterpret_cast<std::uintptr_t>(out[i].data()) % 64 == 0);
    const std::size_t bytes = static_cast<std::size_t>((alone.dim(0) + 15) / 16) *
                              ops::packed_group_bytes(alone.dtype(), alone.dim(1));
    CHECK(std::memcmp(out[i].data(), alone.data(), bytes) == 0);
  }
}

TEST_CASE("a row's result on packed weights does not depend on the rows batched with it") {
  IsaGuard guard;
  cnai::ThreadPool pool(2);
  for (DType t : kPackedBases) {
    const std::int64_t k = lengths(t, true).front(), n = 40, m = 7;
    const Tensor w = random_weight(t, n, k, 31);
    Tensor p;
    if (!pack_or_skip(w, p)) return;
    const Tensor x = random_f32(m, k, 32);
    for (const char* isa : families()) {
      REQUIRE(ops::force_matmul_isa(isa));
      Tensor all = Tensor::empty(DType::F32, {m, n});
      ops::matmul(x, p, all, pool);
      for (std::int64_t i = 0; i < m; ++i) {
        const Tensor xi = Tensor::borrow(DType::F32, {1, k}, x.data_as<float>() + i * k);
        Tensor one = Tensor::empty(DType::F32, {1, n});
        ops::matmul(xi, p, one, pool);
        INFO(isa, " ", cnai::to_string(p.dtype()), " row ", i);
        CHECK(std::memcmp(one.data(), all.data_as<float>() + i * n, n * sizeof(float)) == 0);
      }
    }
  }
}

TEST_CASE("packed kernels take the largest quants and activations without overflow") {
  IsaGuard guard;
  cnai::ThreadPool pool(1);
  for (DType t : kPackedBases) {
    const std::int64_t k = t == DType::Q3_K || t == DType::Q4_K || t == DType::Q6_K ? 1536 : 544, n = 17, m = 5;
    // Rows of one value (the largest quant everywhere), of either sign; activations likewise.
    Tensor wf = Tensor::empty(DType::F32, {n, k}), x = Tensor::empty(DType::F32, {m, k});
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t j = 0; j < k; ++j) wf.data_as<float>()[r * k + j] = r % 2 ? -1.0f : 1.0f + 0.01f * (j % 3 == 0);
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < k; ++j) x.data_as<float>()[i * k + j] = i % 2 ? -3.0f : 3.0f;
    Tensor w = Tensor::empty(t, {n, k});
    for (std::int64_t r = 0; r < n; ++r) ops::quantize_row(t, wf.data_as<float>() + r * k, w.row_ptr(r), k);
    if (!check_packed_in_every_family(x, w, pool, "extremes")) return;
  }
}

// Raw K-quant blocks at the ends of every field (Q3_K's scales of -32 and 31, 6-bit scales and mins of 63,
// Q6_K's int8 scales of -128 and 127, quants of 0 and the largest) beside
// random bytes, against activations of the largest magnitude: the integer
// sums the packed kernels keep per sub-block and per super-block must not wrap.
TEST_CASE("packed K-quant kernels take blocks at the ends of every field") {
  IsaGuard guard;
  cnai::ThreadPool pool(1);
  std::mt19937 rng(7);
  for (DType t : {DType::Q3_K, DType::Q4_K, DType::Q6_K}) {
    const std::int64_t k = 1024, n = 19, m = 3;
    const std::size_t bb = cnai::traits(t).type_size;
    Tensor w = Tensor::empty(t, {n, k});
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t b = 0; b < k / 256; ++b) {
        std::uint8_t* blk = w.row_ptr(r) + static_cast<std::size_t>(b) * bb;
        const int kind = static_cast<int>((r + b) % 3);  // 0: all 0xFF, 1: all 0x00 quants, 2: random
        for (std::size_t i = 0; i < bb; ++i)
          blk[i] = kind == 0 ? 0xFF : kind == 1 ? 0x00 : static_cast<std::uint8_t>(rng());
        const std::uint16_t d = 0x2C00, dmin = 0x2800;  // f16 0.0625 and 0.03125: finite
        if (t == DType::Q3_K) {  // all 0xFF: quants 7 (+3), scales 31; all 0x00: quants 0 (-4), scales -32
          std::memcpy(blk + 108, &d, 2);
        } else if (t == DType::Q4_K) {
          std::memcpy(blk, &d, 2);
          std::memcpy(blk + 2, &dmin, 2);
          if (kind == 1) std::memset(blk + 4, 0xFF, 12);  // quants 0, scales and mins 63
        } else {
          std::memcpy(blk + 208, &d, 2);
          if (kind == 1) std::memset(blk + 192, 0x80, 16);  // quants 0 (-32), scales -128
          if (kind == 0) std::memset(blk + 192, 0x7F, 16);  // quants 63 (+31), scales 127
        }
      }
    Tensor x = Tensor::empty(DType::F32, {m, k});
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < k; ++j) x.data_as<float>()[i * k + j] = i == 0 ? 5.0f : i == 1 ? -5.0f : (j % 2 ? 5.0f : -4.0f);
    if (!check_packed_in_every_family(x, w, pool, "field ends")) return;
  }
}
