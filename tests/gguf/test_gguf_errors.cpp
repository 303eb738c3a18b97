// GgufReader on hostile files: each malformation must raise Error(model_format)
// naming the problem, without crashing or allocating what the file claims.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "cnai/core/error.hpp"
#include "cnai/gguf/gguf.hpp"
#include "support/gguf_builder.hpp"

using namespace cnai;
using namespace cnai::testing;

// Records the largest single allocation while `g_track` is set, to prove that a
// lying length field is rejected before anything of that size is allocated.
namespace {
std::atomic<bool> g_track{false};
std::atomic<std::size_t> g_largest{0};
}  // namespace

void* operator new(std::size_t n) {
  if (g_track.load(std::memory_order_relaxed) && n > g_largest.load(std::memory_order_relaxed)) g_largest = n;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

std::string format_error(const Bytes& bytes) {
  try {
    GgufReader::from_copy(bytes);
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::model_format);
    return e.what();
  }
  return "<no error>";
}

#define CHECK_FORMAT_ERROR(bytes, needle)                         \
  do {                                                            \
    const std::string msg_ = format_error(bytes);                 \
    CHECK_MESSAGE(msg_.find(needle) != std::string::npos, msg_); \
  } while (0)

GgufBuilderTensor f32(std::string name, std::vector<std::uint64_t> dims, std::size_t data_bytes,
                      std::optional<std::uint64_t> offset = std::nullopt) {
  return {std::move(name), 0, std::move(dims), Bytes(data_bytes, 0), offset};
}

}  // namespace

TEST_CASE("gguf errors: header") {
  CHECK_FORMAT_ERROR(Bytes{}, "magic");
  CHECK_FORMAT_ERROR(GgufBuilder().magic("GGUX").build(), "bad magic");
  CHECK_FORMAT_ERROR(GgufBuilder(1).build(), "version 1");
  CHECK_FORMAT_ERROR(GgufBuilder(4).build(), "unknown GGUF version 4");
  CHECK_FORMAT_ERROR(GgufBuilder().kv_count(1u << 30).build(), "metadata count");
  CHECK_FORMAT_ERROR(GgufBuilder().kv_count(~0ull).build(), "metadata count");
  CHECK_FORMAT_ERROR(GgufBuilder().tensor_count(1u << 30).build(), "tensor count");
  CHECK_FORMAT_ERROR(GgufBuilder().tensor_count(~0ull).build(), "tensor count");
}

TEST_CASE("gguf errors: a 160-byte file declaring a 1 GiB string fails fast without allocating it") {
  GgufBuilder b;
  b.kv("general.name", gv::str_lying(1ull << 30, std::string(104, 'x')));
  const Bytes bytes = b.build();
  CHECK(bytes.size() == 160);
  g_largest = 0;
  g_track = true;
  const std::string msg = format_error(bytes);
  g_track = false;
  CHECK_MESSAGE(msg.find("general.name") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("1073741824") != std::string::npos, msg);
  CHECK(g_largest.load() < 4096);
}

TEST_CASE("gguf errors: strings and arrays longer than the file") {
  Bytes key_lie = GgufBuilder().kv("k", gv::u8(1)).build();
  key_lie[24] = 0xff;  // the first key's length field starts after the 24-byte header
  CHECK_FORMAT_ERROR(key_lie, "key #0");
  CHECK_FORMAT_ERROR(GgufBuilder().kv("a", gv::array_lying(4, 1ull << 40)).build(), "array length");
  CHECK_FORMAT_ERROR(GgufBuilder().kv("a", gv::array_lying(8, ~0ull)).build(), "array length");
  CHECK_FORMAT_ERROR(GgufBuilder().kv("a", gv::array_lying(9, 1000)).build(), "array length");
  CHECK_FORMAT_ERROR(GgufBuilder().kv("a", gv::array_lying(8, 2, Bytes(16, 0xff))).build(), "element");
  CHECK_FORMAT_ERROR(GgufBuilder().kv("a", gv::array_lying(4, 3, Bytes(8, 0))).build(), "array length");
}

TEST_CASE("gguf errors: malformed values") {
  CHECK_FORMAT_ERROR(GgufBuilder().kv("v", {13, Bytes(8, 0)}).build(), "unknown value type 13");
  CHECK_FORMAT_ERROR(GgufBuilder().kv("v", gv::array_lying(99, 0)).build(), "unknown element type 99");
  CHECK_FORMAT_ERROR(GgufBuilder().kv("v", {7, Bytes{2}}).build(), "not 0 or 1");
  CHECK_FORMAT_ERROR(GgufBuilder().kv("v", gv::array_lying(7, 2, Bytes{1, 5})).build(), "not 0 or 1");
  CHECK_FORMAT_ERROR(GgufBuilder().kv("", gv::u32(1)).build(), "empty");
  CHECK_FORMAT_ERROR(GgufBuilder().kv("dup", gv::u8(1)).kv("dup", gv::u8(2)).build(), "duplicate metadata key 'dup'");
}

TEST_CASE("gguf errors: array nesting deeper than the limit") {
  auto v = gv::i32_array({1});
  for (int i = 0; i < GgufReader::kMaxArrayDepth; ++i) v = gv::array(9, {v});  // 9 levels
  CHECK_FORMAT_ERROR(GgufBuilder().kv("deep", v).build(), "deeper than 8");
  // A hostile self-similar chain far deeper than any stack would tolerate.
  Bytes chain;
  for (int i = 0; i < 100000; ++i) {
    const std::uint32_t t = 9;
    const std::uint64_t n = 1;
    chain.insert(chain.end(), reinterpret_cast<const std::uint8_t*>(&t), reinterpret_cast<const std::uint8_t*>(&t) + 4);
    chain.insert(chain.end(), reinterpret_cast<const std::uint8_t*>(&n), reinterpret_cast<const std::uint8_t*>(&n) + 8);
  }
  CHECK_FORMAT_ERROR(GgufBuilder().kv("chain", {9, chain}).build(), "deeper than 8");
}

TEST_CASE("gguf errors: too many nested arrays in one file") {
  GgufBuilder b;
  b.kv("a", gv::array_lying(9, GgufReader::kMaxNestedArrays + 1));
  CHECK_FORMAT_ERROR(b.build(), "metadata 'a' holds more than 1048576 nested arrays");
}

TEST_CASE("gguf errors: alignment") {
  auto with = [](GgufBuilderValue v) {
    GgufBuilder b;
    b.kv("general.alignment", std::move(v)).tensor(f32("t", {4}, 16));
    return b.build();
  };
  CHECK_FORMAT_ERROR(with(gv::u32(0)), "not a power of two");
  CHECK_FORMAT_ERROR(with(gv::u32(48)), "not a power of two");
  // GGUF requires a multiple of 8: smaller ones leave block scales misaligned.
  CHECK_FORMAT_ERROR(with(gv::u32(1)), "general.alignment 1 is not a multiple of 8");
  CHECK_FORMAT_ERROR(with(gv::u32(4)), "general.alignment 4 is not a multiple of 8");
  CHECK_FORMAT_ERROR(with(gv::u64(32)), "must be stored as uint32");
  CHECK_FORMAT_ERROR(with(gv::str("32")), "must be stored as uint32");
}

TEST_CASE("gguf errors: tensor shapes") {
  auto one = [](GgufBuilderTensor t) { return GgufBuilder().tensor(std::move(t)).build(); };
  CHECK_FORMAT_ERROR(one(f32("t", {}, 0)), "0 dimensions");
  CHECK_FORMAT_ERROR(one(f32("t", {1, 1, 1, 1, 1}, 4)), "5 dimensions");
  CHECK_FORMAT_ERROR(one(f32("t", {4, 0}, 0)), "dimension 1 is 0");
  CHECK_FORMAT_ERROR(one(f32("t", {~0ull}, 0)), "dimension 0 is -1");
  CHECK_FORMAT_ERROR(one(f32("t", {1ull << 40, 1ull << 40}, 0)), "element count overflows");
  CHECK_FORMAT_ERROR(one({"t", 28, {1ull << 62}, {}, std::nullopt}), "byte size overflows");  // F64
  CHECK_FORMAT_ERROR(one({"t", 4, {32}, Bytes(32, 0), std::nullopt}), "unknown type 4");
  CHECK_FORMAT_ERROR(one({"t", 1000, {32}, Bytes(32, 0), std::nullopt}), "unknown type 1000");
  CHECK_FORMAT_ERROR(one({"t", 8, {33}, Bytes(68, 0), std::nullopt}), "not a multiple of Q8_0's block size 32");
  CHECK_FORMAT_ERROR(one(f32("", {4}, 16)), "empty name");
  CHECK_FORMAT_ERROR(one(f32(std::string(65, 'n'), {4}, 16)), "exceeds limit");
  CHECK_FORMAT_ERROR(GgufBuilder().tensor(f32("t", {4}, 16)).tensor(f32("t", {4}, 16)).build(),
                     "duplicate tensor name 't'");
}

TEST_CASE("gguf errors: tensor data placement") {
  CHECK_FORMAT_ERROR(GgufBuilder().tensor(f32("t", {64}, 16)).build(), "outside the file");
  CHECK_FORMAT_ERROR(GgufBuilder().tensor(f32("t", {4}, 0, 1ull << 40)).build(), "outside the file");
  CHECK_FORMAT_ERROR(GgufBuilder().tensor(f32("t", {4}, 0, ~0ull - 31)).build(), "outside the file");
  CHECK_FORMAT_ERROR(GgufBuilder().tensor(f32("t", {4}, 16, 4)).build(), "not a multiple of the alignment 32");
  CHECK_FORMAT_ERROR(GgufBuilder().tensor(f32("a", {16}, 64, 0)).tensor(f32("b", {4}, 16, 32)).build(),
                     "overlaps tensor 'a'");
  CHECK_FORMAT_ERROR(GgufBuilder().tensor(f32("a", {4}, 16, 0)).tensor(f32("b", {4}, 16, 0)).build(), "overlaps");
}

TEST_CASE("gguf errors: accessing metadata with the wrong type names the key") {
  GgufBuilder b;
  b.kv("tokenizer.ggml.scores", gv::array(0, {gv::u8(1), gv::u8(2)}));
  b.kv("tokenizer.ggml.tokens", gv::f32_array({1.0f}));
  b.kv("llama.block_count", gv::str("30"));
  b.kv("general.name", gv::u32(3));
  const auto r = GgufReader::from_copy(b.build());
  auto check = [](auto&& call, const char* key) {
    try {
      call();
      FAIL("expected an error for " << key);
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::model_format);
      CHECK_MESSAGE(std::string(e.what()).find(key) != std::string::npos, e.what());
    }
  };
  check([&] { r.get_f32_array("tokenizer.ggml.scores"); }, "tokenizer.ggml.scores");
  check([&] { r.get_string_array("tokenizer.ggml.tokens"); }, "tokenizer.ggml.tokens");
  check([&] { r.get_i32_array("tokenizer.ggml.tokens"); }, "tokenizer.ggml.tokens");
  check([&] { r.get_u32("llama.block_count"); }, "llama.block_count");
  check([&] { r.get_string("general.name"); }, "general.name");
  check([&] { r.get_f32("general.name"); }, "general.name");
  check([&] { r.get_bool("general.name"); }, "general.name");
  check([&] { r.get_f32_array("general.name"); }, "general.name");
}

TEST_CASE("gguf errors: every truncation of a valid file is rejected") {
  GgufBuilder b;
  b.kv("general.architecture", gv::str("llama")).kv("a", gv::str_array({"x", "yz"}));
  b.kv("n", gv::array(9, {gv::i32_array({1, 2})})).kv("f", gv::f64(1.0));
  b.f32_tensor("w", {2, 2}, {1, 2, 3, 4}).f32_tensor("v", {3}, {1, 2, 3});
  const Bytes full = b.build();
  REQUIRE_NOTHROW(GgufReader::from_copy(full));
  int rejected = 0;
  for (std::size_t n = 0; n < full.size(); ++n) {
    try {
      GgufReader::from_copy(Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)));
    } catch (const Error& e) {
      rejected += e.code() == ErrorCode::model_format;
    }
  }
  CHECK(rejected == static_cast<int>(full.size()));
}
