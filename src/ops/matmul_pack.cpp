// Repacking Q4_1/Q8_0 matrices into their 16-row interleaved layouts, once at
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

// Offset inside a group of chunk c of row r in block b.
std::size_t chunk_offset(bool q8, std::int64_t b, std::size_t c, std::int64_t r) {
  return (q8 ? q8_0_r16_qs(b) : q4_1_r16_qs(b)) + c * 64 + static_cast<std::size_t>(r) * 4;
}

void pack_group(DType packed, const std::uint8_t* rows, std::size_t row_bytes, std::int64_t n_rows, std::int64_t k,
                std::uint8_t* g) {
  const std::int64_t nb = k / kQK;
  const bool q8 = packed == DType::Q8_0_R16;
  for (std::int64_t r = 0; r < kPackRows; ++r) {
    const std::uint8_t* src = r < n_rows ? rows + static_cast<std::size_t>(r) * row_bytes : nullptr;
    for (std::int64_t b = 0; b < nb; ++b) {
      if (q8) {
        BlockQ8_0 blk{};  // rows past N: zero quants and scale
        if (src) std::memcpy(&blk, src + static_cast<std::size_t>(b) * sizeof blk, sizeof blk);
        for (std::size_t c = 0; c < kQ8Chunks; ++c)
          for (std::size_t j = 0; j < 4; ++j)
            g[chunk_offset(true, b, c, r) + j] = static_cast<std::uint8_t>(blk.qs[4 * c + j]) ^ 0x80u;
        std::memcpy(g + q8_0_r16_d(b) + r * 2, &blk.d, 2);
      } else {
        BlockQ4_1 blk{};
        if (src) std::memcpy(&blk, src + static_cast<std::size_t>(b) * sizeof blk, sizeof blk);
        for (std::size_t c = 0; c < kQ4Chunks; ++c) std::memcpy(g + chunk_offset(false, b, c, r), blk.qs + 4 * c, 4);
        std::memcpy(g + q4_1_r16_d(b) + r * 2, &blk.d, 2);
        std::memcpy(g + q4_1_r16_d(b) + 32 + r * 2, &blk.m, 2);
      }
    }
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

DType packed_base(DType t) noexcept { return t == DType::Q4_1_R16 ? DType::Q4_1 : DType::Q8_0; }

std::size_t packed_group_bytes(DType t, std::int64_t k) noexcept {
  const std::int64_t nb = k / kQK;
  return t == DType::Q4_1_R16 ? q4_1_r16_qs(nb) : q8_0_r16_qs((nb + 1) & ~std::int64_t{1});
}

void unpack_row(DType t, const std::uint8_t* packed, std::int64_t k, std::int64_t r, std::uint8_t* dst) noexcept {
  const std::int64_t nb = k / kQK;
  const std::uint8_t* g = packed + static_cast<std::size_t>(r / kPackRows) * packed_group_bytes(t, k);
  const std::int64_t lane = r % kPackRows;
  const bool q8 = t == DType::Q8_0_R16;
  for (std::int64_t b = 0; b < nb; ++b) {
    if (q8) {
      BlockQ8_0 blk;
      for (std::size_t c = 0; c < kQ8Chunks; ++c)
        for (std::size_t j = 0; j < 4; ++j)
          blk.qs[4 * c + j] = static_cast<std::int8_t>(g[chunk_offset(true, b, c, lane) + j] ^ 0x80u);
      std::memcpy(&blk.d, g + q8_0_r16_d(b) + lane * 2, 2);
      std::memcpy(dst + static_cast<std::size_t>(b) * sizeof blk, &blk, sizeof blk);
    } else {
      BlockQ4_1 blk;
      for (std::size_t c = 0; c < kQ4Chunks; ++c) std::memcpy(blk.qs + 4 * c, g + chunk_offset(false, b, c, lane), 4);
      std::memcpy(&blk.d, g + q4_1_r16_d(b) + lane * 2, 2);
      std::memcpy(&blk.m, g + q4_1_r16_d(b) + 32 + lane * 2, 2);
      std::memcpy(dst + static_cast<std::size_t>(b) * sizeof blk, &blk, sizeof blk);
    }
  }
}

namespace {

// The packed type w would get, or w's own type when it stays as it is.
DType packed_type(const Tensor& w) {
  if (w.device() != Device::cpu || w.rank() != 2 || !w.data()) return w.dtype();
  const MatmulKernels& k = matmul_kernels();
  if (w.dtype() == DType::Q4_1 && k.q4_1_r16) return DType::Q4_1_R16;
  if (w.dtype() == DType::Q8_0 && k.q8_0_r16) return DType::Q8_0_R16;
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
