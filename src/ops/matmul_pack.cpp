// Repacking Q4_0/Q4_1/Q8_0/Q5_0/Q5_1/Q3_K/Q4_K/Q6_K matrices into their 16-row interleaved layouts, once at
// load, and reading single rows back (embedding lookups of a tied matrix).
#include "ops/matmul_pack.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "cnai/ops/matmul.hpp"
#include "ops/kquant_unpack.hpp"
#include "ops/matmul_kernels.hpp"
#include "ops/quant_blocks.hpp"
#include "ops/quantize_k.hpp"

namespace cnai::ops {
namespace {

constexpr std::size_t kQ8Chunks = 8, kQ4Chunks = 4;  // 4-byte chunks per block row

// Offset inside a group of chunk c of row r in block b (qs of any packed type).
std::size_t chunk_offset(DType packed, std::int64_t b, std::size_t c, std::int64_t r) {
  std::size_t base = 0;
  switch (packed) {
    case DType::Q8_0_R16: base = q8_0_r16_qs(b); break;
    case DType::Q4_1_R16: base = q4_1_r16_qs(b); break;
    case DType::Q4_0_R16: base = q4_0_r16_qs(b); break;
    default: base = q5_r16_qs(packed == DType::Q5_1_R16, b); break;
  }
  return base + c * 64 + static_cast<std::size_t>(r) * 4;
}

// Q5 fifth bits between GGML's qh (bit e = element e) and the packed arrangement.
std::uint32_t arrange_qh(std::uint32_t qh) {
  std::uint32_t out = 0;
  for (int j = 0; j < 4; ++j)
    for (int c = 0; c < 4; ++c) {
      out |= ((qh >> (4 * c + j)) & 1u) << (8 * j + c);
      out |= ((qh >> (16 + 4 * c + j)) & 1u) << (8 * j + 4 + c);
    }
  return out;
}
std::uint32_t natural_qh(std::uint32_t arranged) {
  std::uint32_t out = 0;
  for (int j = 0; j < 4; ++j)
    for (int c = 0; c < 4; ++c) {
      out |= ((arranged >> (8 * j + c)) & 1u) << (4 * c + j);
      out |= ((arranged >> (8 * j + 4 + c)) & 1u) << (16 + 4 * c + j);
    }
  return out;
}

// Block b of one row (src: its GGML block, nullptr for rows past N: zeros)
// into lane r of group g.
void pack_block(DType packed, const std::uint8_t* src, std::int64_t b, std::int64_t r, std::uint8_t* g) {
  if (packed == DType::Q8_0_R16) {
    BlockQ8_0 blk{};
    if (src) std::memcpy(&blk, src, sizeof blk);
    for (std::size_t c = 0; c < kQ8Chunks; ++c)
      for (std::size_t j = 0; j < 4; ++j)
        g[chunk_offset(packed, b, c, r) + j] = static_cast<std::uint8_t>(blk.qs[4 * c + j]) ^ 0x80u;
    std::memcpy(g + q8_0_r16_d(b) + r * 2, &blk.d, 2);
  } else if (packed == DType::Q4_1_R16) {
    BlockQ4_1 blk{};
    if (src) std::memcpy(&blk, src, sizeof blk);
    for (std::size_t c = 0; c < kQ4Chunks; ++c) std::memcpy(g + chunk_offset(packed, b, c, r), blk.qs + 4 * c, 4);
    std::memcpy(g + q4_1_r16_d(b) + r * 2, &blk.d, 2);
    std::memcpy(g + q4_1_r16_d(b) + 32 + r * 2, &blk.m, 2);
  } else if (packed == DType::Q4_0_R16) {
    BlockQ4_0 blk{};
    if (src) std::memcpy(&blk, src, sizeof blk);
    for (std::size_t c = 0; c < kQ4Chunks; ++c) std::memcpy(g + chunk_offset(packed, b, c, r), blk.qs + 4 * c, 4);
    std::memcpy(g + q4_0_r16_d(b) + r * 2, &blk.d, 2);
  } else {
    const bool min = packed == DType::Q5_1_R16;
    BlockQ5_1 blk{};  // Q5_0 has the same fields less m: read it field by field
    if (src) {
      std::memcpy(&blk.d, src, 2);
      if (min) std::memcpy(&blk.m, src + 2, 2);
      std::memcpy(blk.qh, src + (min ? 4 : 2), 4);
      std::memcpy(blk.qs, src + (min ? 8 : 6), 16);
    }
    for (std::size_t c = 0; c < kQ4Chunks; ++c) std::memcpy(g + chunk_offset(packed, b, c, r), blk.qs + 4 * c, 4);
    std::uint32_t qh;
    std::memcpy(&qh, blk.qh, 4);
    qh = arrange_qh(qh);
    std::memcpy(g + q5_r16_qh(min, b) + r * 4, &qh, 4);
    std::memcpy(g + q5_r16_d(min, b) + r * 2, &blk.d, 2);
    if (min) std::memcpy(g + q5_r16_d(min, b) + 32 + r * 2, &blk.m, 2);
  }
}

void unpack_block(DType packed, const std::uint8_t* g, std::int64_t b, std::int64_t r, std::uint8_t* dst) {
  if (packed == DType::Q8_0_R16) {
    BlockQ8_0 blk;
    for (std::size_t c = 0; c < kQ8Chunks; ++c)
      for (std::size_t j = 0; j < 4; ++j)
        blk.qs[4 * c + j] = static_cast<std::int8_t>(g[chunk_offset(packed, b, c, r) + j] ^ 0x80u);
    std::memcpy(&blk.d, g + q8_0_r16_d(b) + r * 2, 2);
    std::memcpy(dst, &blk, sizeof blk);
  } else if (packed == DType::Q4_1_R16) {
    BlockQ4_1 blk;
    for (std::size_t c = 0; c < kQ4Chunks; ++c) std::memcpy(blk.qs + 4 * c, g + chunk_offset(packed, b, c, r), 4);
    std::memcpy(&blk.d, g + q4_1_r16_d(b) + r * 2, 2);
    std::memcpy(&blk.m, g + q4_1_r16_d(b) + 32 + r * 2, 2);
    std::memcpy(dst, &blk, sizeof blk);
  } else if (packed == DType::Q4_0_R16) {
    BlockQ4_0 blk;
    for (std::size_t c = 0; c < kQ4Chunks; ++c) std::memcpy(blk.qs + 4 * c, g + chunk_offset(packed, b, c, r), 4);
    std::memcpy(&blk.d, g + q4_0_r16_d(b) + r * 2, 2);
    std::memcpy(dst, &blk, sizeof blk);
  } else {
    const bool min = packed == DType::Q5_1_R16;
    std::uint32_t qh;
    std::memcpy(&qh, g + q5_r16_qh(min, b) + r * 4, 4);
    qh = natural_qh(qh);
    std::memcpy(dst, g + q5_r16_d(min, b) + r * 2, 2);
    if (min) std::memcpy(dst + 2, g + q5_r16_d(min, b) + 32 + r * 2, 2);
    std::memcpy(dst + (min ? 4 : 2), &qh, 4);
    for (std::size_t c = 0; c < kQ4Chunks; ++c)
      std::memcpy(dst + (min ? 8 : 6) + 4 * c, g + chunk_offset(packed, b, c, r), 4);
  }
}

// Super-block b of one row (src: its GGML block) into lane r of group g.
void pack_k_block(DType packed, const std::uint8_t* src, std::int64_t b, std::int64_t r, std::uint8_t* g) {
  const auto at = [r](std::size_t off, std::size_t width) { return off + static_cast<std::size_t>(r) * width; };
  if (packed == DType::Q4_K_R16) {
    const std::uint8_t* qs = src + 16;
    for (int j = 0; j < 4; ++j)
      for (int c = 0; c < 8; ++c) std::memcpy(g + at(q4_k_r16_qs(b, j, c), 4), qs + 32 * j + 4 * c, 4);
    std::uint8_t sc[8], mn[8];
    unpack_scales_k4(src + 4, sc, mn);
    for (int s = 0; s < 8; ++s) {
      g[at(q4_k_r16_sc(b, s), 1)] = sc[s];
      g[at(q4_k_r16_mn(b, s), 1)] = mn[s];
    }
    std::memcpy(g + at(q4_k_r16_d(b), 2), src, 2);
    std::memcpy(g + at(q4_k_r16_d(b) + 32, 2), src + 2, 2);
    return;
  }
  KUnpacked u;
  if (packed == DType::Q3_K_R16) {
    unpack_k(DType::Q3_K, src, u);
    for (int k = 0; k < 16; ++k)
      for (int t = 0; t < 4; ++t) {
        int v = 0;
        for (int s = 0; s < 4; ++s) v |= (u.q[64 * s + 4 * k + t] & 3) << (2 * s);
        g[at(q3_k_r16_ql(b, k), 4) + t] = static_cast<std::uint8_t>(v);
      }
    for (int k = 0; k < 8; ++k)
      for (int t = 0; t < 4; ++t) {
        int v = 0;
        for (int s = 0; s < 8; ++s) v |= (u.q[32 * s + 4 * k + t] >> 2) << s;
        g[at(q3_k_r16_qh(b, k), 4) + t] = static_cast<std::uint8_t>(v);
      }
    for (int p = 0; p < 8; ++p)
      for (int s = 0; s < 2; ++s) g[at(q3_k_r16_sc(b, p), 2) + s] = static_cast<std::uint8_t>(static_cast<std::int8_t>(u.sc[2 * p + s]));
    std::memcpy(g + at(q3_k_r16_d(b), 2), src + offsetof(BlockQ3_K, d), 2);
    return;
  }
  unpack_k(DType::Q6_K, src, u);
  for (int k = 0; k < 32; ++k)
    for (int t = 0; t < 4; ++t)
      g[at(q6_k_r16_ql(b, k), 4) + t] = static_cast<std::uint8_t>((u.q[4 * k + t] & 15) | (u.q[128 + 4 * k + t] & 15) << 4);
  for (int k = 0; k < 16; ++k)
    for (int t = 0; t < 4; ++t) {
      int v = 0;
      for (int s = 0; s < 4; ++s) v |= (u.q[64 * s + 4 * k + t] >> 4) << (2 * s);
      g[at(q6_k_r16_qh(b, k), 4) + t] = static_cast<std::uint8_t>(v);
    }
  for (int p = 0; p < 8; ++p) std::memcpy(g + at(q6_k_r16_sc(b, p), 2), src + 192 + 2 * p, 2);
  std::memcpy(g + at(q6_k_r16_d(b), 2), src + 208, 2);
}

void unpack_k_block(DType packed, const std::uint8_t* g, std::int64_t b, std::int64_t r, std::uint8_t* dst) {
  const auto at = [r](std::size_t off, std::size_t width) { return off + static_cast<std::size_t>(r) * width; };
  if (packed == DType::Q4_K_R16) {
    std::memcpy(dst, g + at(q4_k_r16_d(b), 2), 2);
    std::memcpy(dst + 2, g + at(q4_k_r16_d(b) + 32, 2), 2);
    std::uint8_t sc[8], mn[8];
    for (int s = 0; s < 8; ++s) {
      sc[s] = g[at(q4_k_r16_sc(b, s), 1)];
      mn[s] = g[at(q4_k_r16_mn(b, s), 1)];
    }
    std::uint8_t* q = dst + 4;  // GGML's 12-byte encoding (the inverse of unpack_scales_k4)
    for (int j = 0; j < 4; ++j) {
      q[j] = static_cast<std::uint8_t>(sc[j] | (sc[j + 4] >> 4) << 6);
      q[j + 4] = static_cast<std::uint8_t>(mn[j] | (mn[j + 4] >> 4) << 6);
      q[j + 8] = static_cast<std::uint8_t>((sc[j + 4] & 15) | (mn[j + 4] & 15) << 4);
    }
    for (int j = 0; j < 4; ++j)
      for (int c = 0; c < 8; ++c) std::memcpy(dst + 16 + 32 * j + 4 * c, g + at(q4_k_r16_qs(b, j, c), 4), 4);
    return;
  }
  std::uint8_t q[kQK_K];
  if (packed == DType::Q3_K_R16) {
    for (int k = 0; k < 16; ++k)
      for (int t = 0; t < 4; ++t)
        for (int s = 0; s < 4; ++s) q[64 * s + 4 * k + t] = (g[at(q3_k_r16_ql(b, k), 4) + t] >> (2 * s)) & 3;
    for (int k = 0; k < 8; ++k)
      for (int t = 0; t < 4; ++t)
        for (int s = 0; s < 8; ++s)
          q[32 * s + 4 * k + t] = static_cast<std::uint8_t>(q[32 * s + 4 * k + t] | ((g[at(q3_k_r16_qh(b, k), 4) + t] >> s) & 1) << 2);
    BlockQ3_K blk;
    pack_quants_q3(q, blk.qs, blk.hmask);
    std::uint8_t l6[16];
    for (int p = 0; p < 8; ++p)
      for (int s = 0; s < 2; ++s) l6[2 * p + s] = static_cast<std::uint8_t>(static_cast<std::int8_t>(g[at(q3_k_r16_sc(b, p), 2) + s]) + 32);
    pack_scales_q3(l6, blk.scales);
    std::memcpy(&blk.d, g + at(q3_k_r16_d(b), 2), 2);
    std::memcpy(dst, &blk, sizeof blk);
    return;
  }
  for (int k = 0; k < 32; ++k)
    for (int t = 0; t < 4; ++t) {
      const std::uint8_t v = g[at(q6_k_r16_ql(b, k), 4) + t];
      q[4 * k + t] = v & 15;
      q[128 + 4 * k + t] = v >> 4;
    }
  for (int k = 0; k < 16; ++k)
    for (int t = 0; t < 4; ++t) {
      const std::uint8_t v = g[at(q6_k_r16_qh(b, k), 4) + t];
      for (int s = 0; s < 4; ++s) q[64 * s + 4 * k + t] = static_cast<std::uint8_t>(q[64 * s + 4 * k + t] | ((v >> (2 * s)) & 3) << 4);
    }
  BlockQ6_K blk{};
  for (int e = 0; e < kQK_K; ++e) {  // GGML's arrangement (kquant_unpack.hpp reads it back)
    const int h = e / 128, t4 = (e % 128) / 32, l = e % 32;
    blk.ql[64 * h + l + 32 * (t4 & 1)] = static_cast<std::uint8_t>(blk.ql[64 * h + l + 32 * (t4 & 1)] | (q[e] & 15) << (4 * (t4 >> 1)));
    blk.qh[32 * h + l] = static_cast<std::uint8_t>(blk.qh[32 * h + l] | (q[e] >> 4) << (2 * t4));
  }
  for (int p = 0; p < 8; ++p) std::memcpy(blk.scales + 2 * p, g + at(q6_k_r16_sc(b, p), 2), 2);
  std::memcpy(&blk.d, g + at(q6_k_r16_d(b), 2), 2);
  std::memcpy(dst, &blk, sizeof blk);
}

void pack_group(DType packed, const std::uint8_t* rows, std::size_t row_bytes, std::int64_t n_rows, std::int64_t k,
                std::uint8_t* g) {
  const std::size_t bb = traits(packed_base(packed)).type_size;
  if (is_packed_k(packed)) {  // rows past N stay zero (d = 0)
    for (std::int64_t r = 0; r < n_rows; ++r)
      for (std::int64_t b = 0; b < k / kQK_K; ++b)
        pack_k_block(packed, rows + static_cast<std::size_t>(r) * row_bytes + static_cast<std::size_t>(b) * bb, b, r, g);
    return;
  }
  const std::int64_t nb = k / kQK;
  for (std::int64_t r = 0; r < kPackRows; ++r) {
    const std::uint8_t* src = r < n_rows ? rows + static_cast<std::size_t>(r) * row_bytes : nullptr;
    for (std::int64_t b = 0; b < nb; ++b) pack_block(packed, src ? src + static_cast<std::size_t>(b) * bb : nullptr, b, r, g);
  }
}

// Storage for packed matrices (not zeroed). Large ones are 2 MiB aligned and ask
// for transparent huge pages: decode walks the whole matrix every token.
std::shared_ptr<std::uint8_t> packed_storage(std::size_t bytes) {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  const std::size_t align = bytes >= kHuge ? kHuge : 64;
  const std::size_t size = (bytes + align - 1) / align * align;
  void* p = std::aligned_alloc(align, size);
  if (!p) throw std::bad_alloc();
  if (align == kHuge) ::madvise(p, size, MADV_HUGEPAGE);
  // Left untouched: pack_into zeroes each matrix's part as it goes, so pages
  // become resident only while their sources are released.
  return std::shared_ptr<std::uint8_t>(static_cast<std::uint8_t*>(p), [](std::uint8_t* q) { std::free(q); });
}

}  // namespace

DType packed_base(DType t) noexcept {
  switch (t) {
    case DType::Q4_0_R16: return DType::Q4_0;
    case DType::Q4_1_R16: return DType::Q4_1;
    case DType::Q5_0_R16: return DType::Q5_0;
    case DType::Q5_1_R16: return DType::Q5_1;
    case DType::Q3_K_R16: return DType::Q3_K;
    case DType::Q4_K_R16: return DType::Q4_K;
    case DType::Q6_K_R16: return DType::Q6_K;
    default: return DType::Q8_0;
  }
}

std::size_t packed_group_bytes(DType t, std::int64_t k) noexcept {
  const std::int64_t nb = k / kQK;
  switch (t) {
    case DType::Q3_K_R16: return static_cast<std::size_t>(k / kQK_K) * kQ3KR16Bytes;
    case DType::Q4_K_R16: return static_cast<std::size_t>(k / kQK_K) * kQ4KR16Bytes;
    case DType::Q6_K_R16: return static_cast<std::size_t>(k / kQK_K) * kQ6KR16Bytes;
    case DType::Q4_0_R16: return q4_0_r16_d((nb + 1) & ~std::int64_t{1});
    case DType::Q4_1_R16: return q4_1_r16_qs(nb);
    case DType::Q5_0_R16: return q5_r16_d(false, (nb + 1) & ~std::int64_t{1});
    case DType::Q5_1_R16: return q5_r16_qs(true, nb);
    default: return q8_0_r16_d((nb + 1) & ~std::int64_t{1});
  }
}

void unpack_row(DType t, const std::uint8_t* packed, std::int64_t k, std::int64_t r, std::uint8_t* dst) noexcept {
  const std::uint8_t* g = packed + static_cast<std::size_t>(r / kPackRows) * packed_group_bytes(t, k);
  const std::size_t bb = traits(packed_base(t)).type_size;
  if (is_packed_k(t)) {
    for (std::int64_t b = 0; b < k / kQK_K; ++b)
      unpack_k_block(t, g, b, r % kPackRows, dst + static_cast<std::size_t>(b) * bb);
    return;
  }
  const std::int64_t nb = k / kQK;
  for (std::int64_t b = 0; b < nb; ++b) unpack_block(t, g, b, r % kPackRows, dst + static_cast<std::size_t>(b) * bb);
}

namespace {

// The packed type w would get, or w's own type when it stays as it is.
DType packed_type(const Tensor& w) {
  if (w.device() != Device::cpu || w.rank() != 2 || !w.data()) return w.dtype();
  const MatmulKernels& k = matmul_kernels();
  if (w.dtype() == DType::Q4_0 && k.q4_0_r16) return DType::Q4_0_R16;
  if (w.dtype() == DType::Q4_1 && k.q4_1_r16) return DType::Q4_1_R16;
  if (w.dtype() == DType::Q8_0 && k.q8_0_r16) return DType::Q8_0_R16;
  if (w.dtype() == DType::Q5_0 && k.q5_0_r16) return DType::Q5_0_R16;
  if (w.dtype() == DType::Q5_1 && k.q5_1_r16) return DType::Q5_1_R16;
  if (w.dtype() == DType::Q3_K && k.q3_k_r16) return DType::Q3_K_R16;
  if (w.dtype() == DType::Q4_K && k.q4_k_r16) return DType::Q4_K_R16;
  if (w.dtype() == DType::Q6_K && k.q6_k_r16) return DType::Q6_K_R16;
  return w.dtype();
}

// Float matrices keep their layout but are copied too: into huge pages,
// which decode's full sweep over every matrix each token reads faster.
bool is_copied(const Tensor& w) {
  return w.device() == Device::cpu && w.rank() == 2 && w.data() &&
         (w.dtype() == DType::F16 || w.dtype() == DType::BF16 || w.dtype() == DType::F32);
}

std::size_t packed_size(const Tensor& w, DType packed) {
  if (!is_packed(packed)) return (w.nbytes() + 63) / 64 * 64;
  return static_cast<std::size_t>((w.dim(0) + kPackRows - 1) / kPackRows) * packed_group_bytes(packed, w.dim(1));
}

void pack_into(const Tensor& w, DType packed, std::uint8_t* out) {
  if (!is_packed(packed)) {
    std::memcpy(out, w.data(), w.nbytes());
    return;
  }
  const std::int64_t N = w.dim(0), K = w.dim(1), groups = (N + kPackRows - 1) / kPackRows;
  const std::size_t gb = packed_group_bytes(packed, K);
  std::memset(out, 0, static_cast<std::size_t>(groups) * gb);  // padding blocks and rows
  for (std::int64_t g = 0; g < groups; ++g) {
    const std::int64_t n0 = g * kPackRows;
    pack_group(packed, w.row_ptr(n0), w.row_bytes(), std::min(kPackRows, N - n0), K,
               out + static_cast<std::size_t>(g) * gb);
  }
}

}  // namespace

Tensor pack_for_matmul(const Tensor& w) {
  const Tensor* one = &w;
  return pack_for_matmul(std::span<const Tensor* const>(&one, 1), {}).front();
}

std::vector<Tensor> pack_for_matmul(std::span<const Tensor* const> ws,
                                    const std::function<void(const Tensor&)>& on_packed) {
  std::vector<Tensor> out;
  out.reserve(ws.size());
  std::size_t total = 0;
  auto moves = [](const Tensor& w) { return packed_type(w) != w.dtype() || is_copied(w); };
  for (const Tensor* w : ws)
    if (moves(*w)) total += packed_size(*w, packed_type(*w));  // multiples of 64
  const std::shared_ptr<std::uint8_t> owner = total ? packed_storage(total) : nullptr;
  std::size_t offset = 0;
  for (const Tensor* w : ws) {
    const DType t = packed_type(*w);
    if (!moves(*w)) {
      out.push_back(*w);
      continue;
    }
    std::uint8_t* dst = owner.get() + offset;
    pack_into(*w, t, dst);
    offset += packed_size(*w, t);
    out.push_back(Tensor::borrow(t, w->shape(), dst, std::shared_ptr<const void>(owner, dst)));
    if (on_packed) on_packed(*w);
  }
  return out;
}

}  // namespace cnai::ops
