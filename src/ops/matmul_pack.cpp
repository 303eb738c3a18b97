// Repacking Q4_1/Q8_0/Q5_0/Q5_1 matrices into their 16-row interleaved layouts, once at
// load, and reading single rows back (embedding lookups of a tied matrix).
#include "ops/matmul_pack.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "cnai/ops/matmul.hpp"
#include "ops/matmul_kernels.hpp"
#include "ops/quant_blocks.hpp"

namespace cnai::ops {
namespace {

constexpr std::size_t kQ8Chunks = 8, kQ4Chunks = 4;  // 4-byte chunks per block row

// Offset inside a group of chunk c of row r in block b (qs of any packed type).
std::size_t chunk_offset(DType packed, std::int64_t b, std::size_t c, std::int64_t r) {
  std::size_t base = 0;
  switch (packed) {
    case DType::Q8_0_R16: base = q8_0_r16_qs(b); break;
    case DType::Q4_1_R16: base = q4_1_r16_qs(b); break;
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

void pack_group(DType packed, const std::uint8_t* rows, std::size_t row_bytes, std::int64_t n_rows, std::int64_t k,
                std::uint8_t* g) {
  const std::int64_t nb = k / kQK;
  const std::size_t bb = traits(packed_base(packed)).type_size;
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
    case DType::Q4_1_R16: return DType::Q4_1;
    case DType::Q5_0_R16: return DType::Q5_0;
    case DType::Q5_1_R16: return DType::Q5_1;
    default: return DType::Q8_0;
  }
}

std::size_t packed_group_bytes(DType t, std::int64_t k) noexcept {
  const std::int64_t nb = k / kQK;
  switch (t) {
    case DType::Q4_1_R16: return q4_1_r16_qs(nb);
    case DType::Q5_0_R16: return q5_r16_qs(false, (nb + 1) & ~std::int64_t{1});
    case DType::Q5_1_R16: return q5_r16_qs(true, nb);
    default: return q8_0_r16_qs((nb + 1) & ~std::int64_t{1});
  }
}

void unpack_row(DType t, const std::uint8_t* packed, std::int64_t k, std::int64_t r, std::uint8_t* dst) noexcept {
  const std::int64_t nb = k / kQK;
  const std::uint8_t* g = packed + static_cast<std::size_t>(r / kPackRows) * packed_group_bytes(t, k);
  const std::size_t bb = traits(packed_base(t)).type_size;
  for (std::int64_t b = 0; b < nb; ++b) unpack_block(t, g, b, r % kPackRows, dst + static_cast<std::size_t>(b) * bb);
}

namespace {

// The packed type w would get, or w's own type when it stays as it is.
DType packed_type(const Tensor& w) {
  if (w.device() != Device::cpu || w.rank() != 2 || !w.data()) return w.dtype();
  const MatmulKernels& k = matmul_kernels();
  if (w.dtype() == DType::Q4_1 && k.q4_1_r16) return DType::Q4_1_R16;
  if (w.dtype() == DType::Q8_0 && k.q8_0_r16) return DType::Q8_0_R16;
  if (w.dtype() == DType::Q5_0 && k.q5_0_r16) return DType::Q5_0_R16;
  if (w.dtype() == DType::Q5_1 && k.q5_1_r16) return DType::Q5_1_R16;
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
