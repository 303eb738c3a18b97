// GgufReader on well-formed files: every metadata type, arrays, alignment,
// tensors borrowed in place, and the real default model.
#include <doctest/doctest.h>

#include <cstring>
#include <limits>

#include "cnai/core/error.hpp"
#include "cnai/gguf/gguf.hpp"
#include "support/default_model.hpp"
#include "support/gguf_builder.hpp"

using namespace cnai;
using namespace cnai::testing;

namespace {

GgufBuilder every_scalar(std::uint32_t version) {
  GgufBuilder b(version);
  b.kv("t.u8", gv::u8(200)).kv("t.i8", gv::i8(-100)).kv("t.u16", gv::u16(60000)).kv("t.i16", gv::i16(-30000));
  b.kv("t.u32", gv::u32(4000000000u)).kv("t.i32", gv::i32(-2000000000)).kv("t.u64", gv::u64(1ull << 60));
  b.kv("t.i64", gv::i64(-(1ll << 60))).kv("t.f32", gv::f32(1.5f)).kv("t.f64", gv::f64(-2.25));
  b.kv("t.bool", gv::boolean(true)).kv("t.str", gv::str("héllo"));
  return b;
}

}  // namespace

TEST_CASE("gguf: every scalar type round-trips (v3 and v2)") {
  for (std::uint32_t version : {3u, 2u}) {
    CAPTURE(version);
    const auto r = GgufReader::from_copy(every_scalar(version).build());
    CHECK(r.version() == version);
    CHECK(r.metadata().size() == 12);
    CHECK(r.metadata()[0].key == "t.u8");
    CHECK(r.get("t.u8").type() == GgufType::uint8);
    CHECK(r.get_u32("t.u8") == 200);
    CHECK(r.get_i32("t.i8") == -100);
    CHECK(r.get("t.i8").type() == GgufType::int8);
    CHECK(r.get_u32("t.u16") == 60000);
    CHECK(r.get_i32("t.i16") == -30000);
    CHECK(r.get_u32("t.u32") == 4000000000u);
    CHECK(r.get_i32("t.i32") == -2000000000);
    CHECK(r.get_u64("t.u64") == (1ull << 60));
    CHECK(r.get_i64("t.i64") == -(1ll << 60));
    CHECK(r.get_f32("t.f32") == 1.5f);
    CHECK(r.get("t.f32").type() == GgufType::float32);
    CHECK(r.get_f64("t.f64") == -2.25);
    CHECK(r.get_f32("t.f64") == -2.25f);
    CHECK(r.get_bool("t.bool") == true);
    CHECK(r.get_string("t.str") == "héllo");
    CHECK(r.tensors().empty());
  }
}

TEST_CASE("gguf: integer accessors accept any integer type whose value fits") {
  GgufBuilder b;
  b.kv("small", gv::u8(7)).kv("neg", gv::i64(-5)).kv("big", gv::u64(1ull << 40)).kv("i16", gv::i16(-3));
  const auto r = GgufReader::from_copy(b.build());
  CHECK(r.get_u32("small") == 7);
  CHECK(r.get_i64("small") == 7);
  CHECK(r.get_i32("neg") == -5);
  CHECK(r.get_i32("i16") == -3);
  CHECK(r.get_i64("big") == (1ll << 40));
  CHECK_THROWS_AS(r.get_u32("neg"), Error);
  CHECK_THROWS_AS(r.get_u64("neg"), Error);
  CHECK_THROWS_AS(r.get_i32("big"), Error);
  CHECK_THROWS_AS(r.get_f32("small"), Error);  // float accessors take float32/float64 only
}

TEST_CASE("gguf: find_* return nullopt when absent, throw when the type is wrong") {
  GgufBuilder b;
  b.kv("n", gv::u32(3)).kv("s", gv::str("x")).kv("f", gv::f32(0.5f)).kv("b", gv::boolean(false));
  const auto r = GgufReader::from_copy(b.build());
  CHECK(r.find_u32("n") == 3u);
  CHECK(r.find_i32("n") == 3);
  CHECK(r.find_u64("n") == 3u);
  CHECK(r.find_f32("f") == 0.5f);
  CHECK(r.find_bool("b") == false);
  CHECK(r.find_string("s") == "x");
  CHECK(!r.find_u32("absent").has_value());
  CHECK(!r.find_string("absent").has_value());
  CHECK(!r.has("absent"));
  CHECK(r.has("n"));
  CHECK_THROWS_AS(r.find_u32("s"), Error);
  CHECK_THROWS_AS(r.find_string("n"), Error);
  try {
    r.get_u32("absent");
    FAIL("missing key must throw");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::model_format);
    CHECK(std::string(e.what()).find("absent") != std::string::npos);
  }
}

TEST_CASE("gguf: arrays of every element type, including strings and nested arrays") {
  GgufBuilder b;
  b.kv("a.f32", gv::f32_array({1.0f, -2.5f, 3.25f}));
  b.kv("a.f64", gv::array(12, {gv::f64(0.5), gv::f64(-8.0)}));
  b.kv("a.i32", gv::i32_array({-1, 0, 2147483647}));
  b.kv("a.u8", gv::array(0, {gv::u8(1), gv::u8(255)}));
  b.kv("a.i8", gv::array(1, {gv::i8(-128)}));
  b.kv("a.u16", gv::array(2, {gv::u16(65535)}));
  b.kv("a.i16", gv::array(3, {gv::i16(-2)}));
  b.kv("a.u32", gv::array(4, {gv::u32(4000000000u)}));
  b.kv("a.u64", gv::array(10, {gv::u64(9)}));
  b.kv("a.i64", gv::array(11, {gv::i64(-9)}));
  b.kv("a.bool", gv::array(7, {gv::boolean(true), gv::boolean(false)}));
  b.kv("a.str", gv::str_array({"a", "", "ccc"}));
  b.kv("a.empty", gv::array(6, {}));
  b.kv("a.nested", gv::array(9, {gv::i32_array({1, 2}), gv::i32_array({3})}));
  b.kv("a.nested_str", gv::array(9, {gv::str_array({"x"}), gv::str_array({"y", "z"})}));
  const auto r = GgufReader::from_copy(b.build());

  CHECK(r.get_f32_array("a.f32") == std::vector<float>{1.0f, -2.5f, 3.25f});
  CHECK(r.get_f32_array("a.f64") == std::vector<float>{0.5f, -8.0f});
  CHECK(r.get_i32_array("a.i32") == std::vector<std::int32_t>{-1, 0, 2147483647});
  CHECK(r.get_i32_array("a.u8") == std::vector<std::int32_t>{1, 255});
  CHECK(r.get_i32_array("a.i8") == std::vector<std::int32_t>{-128});
  CHECK(r.get_u32_array("a.u16") == std::vector<std::uint32_t>{65535});
  CHECK(r.get_i32_array("a.i16") == std::vector<std::int32_t>{-2});
  CHECK(r.get_u32_array("a.u32") == std::vector<std::uint32_t>{4000000000u});
  CHECK_THROWS_AS(r.get_i32_array("a.u32"), Error);  // does not fit int32
  CHECK(r.get("a.u64").as_i64_array() == std::vector<std::int64_t>{9});
  CHECK(r.get("a.i64").as_i64_array() == std::vector<std::int64_t>{-9});
  const auto& bools = r.get("a.bool").as_array();
  CHECK(bools.element_type == GgufType::boolean);
  CHECK(bools.size == 2);
  CHECK(bools.element(0).as_bool() == true);
  CHECK(bools.element(1).as_bool() == false);
  CHECK(r.get_string_array("a.str") == std::vector<std::string>{"a", "", "ccc"});
  CHECK(r.get_f32_array("a.empty").empty());

  const auto& nested = r.get("a.nested").as_array();
  REQUIRE(nested.element_type == GgufType::array);
  REQUIRE(nested.size == 2);
  CHECK(nested.element(0).as_i32_array() == std::vector<std::int32_t>{1, 2});
  CHECK(nested.element(1).as_i32_array() == std::vector<std::int32_t>{3});
  const auto& nested_str = r.get("a.nested_str").as_array();
  CHECK(nested_str.element(1).as_string_array() == std::vector<std::string>{"y", "z"});
  CHECK(r.get("a.str").describe() == "array<string>[3]");
  CHECK(r.get("a.f32").as_array().element(2).describe() == "3.25 (float32)");
  CHECK(r.get("a.i8").as_array().element(0).describe() == "-128 (int8)");
}

TEST_CASE("gguf: arrays nested 8 deep are accepted") {
  auto v = gv::i32_array({42});
  for (int i = 1; i < GgufReader::kMaxArrayDepth; ++i) v = gv::array(9, {v});
  GgufBuilder b;
  b.kv("deep", v);
  const auto r = GgufReader::from_copy(b.build());
  const GgufValue* cur = &r.get("deep");
  GgufValue hold;
  for (int i = 1; i < GgufReader::kMaxArrayDepth; ++i) {
    hold = cur->as_array().element(0);
    cur = &hold;
  }
  CHECK(cur->as_i32_array() == std::vector<std::int32_t>{42});
}

TEST_CASE("gguf: tensors are borrowed in place with row-major shapes") {
  std::vector<float> a = {1, 2, 3, 4, 5, 6};
  std::vector<float> c = {-1, -2, -3, -4};
  GgufBuilder b;
  b.kv("general.architecture", gv::str("test"));
  b.f32_tensor("a", {2, 3}, a).f32_tensor("c", {4}, c);
  GgufBuilderTensor q;  // Q8_0, two rows of 64: GGUF dims {64, 2}
  q.name = "q";
  q.type = 8;
  q.dims = {64, 2};
  for (int i = 0; i < 2 * 2 * 34; ++i) q.data.push_back(static_cast<std::uint8_t>(i * 7));
  b.tensor(q);
  const Bytes bytes = b.build();

  Tensor ta, tq;
  {
    const auto r = GgufReader::from_copy(bytes);
    REQUIRE(r.tensors().size() == 3);
    CHECK(r.data_offset() % 32 == 0);
    const auto& ia = r.tensor_info("a");
    CHECK(ia.dtype == DType::F32);
    CHECK(ia.shape == Shape{2, 3});
    CHECK(ia.nbytes == 24);
    CHECK(ia.offset % 32 == 0);
    CHECK(std::memcmp(bytes.data() + ia.offset, a.data(), 24) == 0);
    const auto& iq = r.tensor_info("q");
    CHECK(iq.dtype == DType::Q8_0);
    CHECK(iq.shape == Shape{2, 64});
    CHECK(iq.nbytes == 136);
    CHECK(r.tensor_bytes(iq).size() == 136);
    CHECK(r.tensor("c").shape() == Shape{4});
    CHECK(r.tensor("c").data_as<float>()[3] == -4.0f);
    CHECK(r.find_tensor("nope") == nullptr);
    CHECK_THROWS_AS(r.tensor("nope"), Error);
    GgufTensorInfo foreign = iq;
    foreign.offset = bytes.size() - 8;
    CHECK_THROWS_AS(r.tensor(foreign), Error);
    CHECK_THROWS_AS(r.tensor_bytes(foreign), Error);
    ta = r.tensor("a");
    tq = r.tensor(iq);
  }
  // The reader is gone; the tensors keep the bytes alive.
  CHECK(ta.shape() == Shape{2, 3});
  CHECK(std::memcmp(ta.data(), a.data(), 24) == 0);
  CHECK(tq.nbytes() == 136);
  CHECK(std::memcmp(tq.data(), q.data.data(), 136) == 0);
}

TEST_CASE("gguf: general.alignment sets the data alignment") {
  GgufBuilder b;
  b.alignment(64).kv("general.alignment", gv::u32(64));
  b.f32_tensor("x", {3}, {1, 2, 3}).f32_tensor("y", {2}, {4, 5});
  const auto r = GgufReader::from_copy(b.build());
  CHECK(r.alignment() == 64);
  CHECK(r.data_offset() % 64 == 0);
  CHECK(r.tensor_info("y").offset - r.tensor_info("x").offset == 64);
  CHECK(r.tensor("y").data_as<float>()[1] == 5.0f);
  CHECK(GgufReader::from_copy(GgufBuilder().build()).alignment() == 32);
}

TEST_CASE("gguf: open() maps a file from disk") {
  GgufBuilder b(2);
  b.kv("k", gv::str("v")).f32_tensor("w", {2, 2}, {1, 2, 3, 4});
  TempFile file(b.build());
  Tensor w;
  {
    const auto r = GgufReader::open(file.path());
    CHECK(r.version() == 2);
    CHECK(r.get_string("k") == "v");
    w = r.tensor("w");
  }
  CHECK(w.data_as<float>()[3] == 4.0f);
  CHECK_THROWS_AS(GgufReader::open(file.path() + ".missing"), Error);
}

TEST_CASE("gguf: the default model") {
  const auto path = default_model_or_skip();
  if (!path) return;
  const auto r = GgufReader::open(*path);
  CHECK(r.get_string("general.architecture") == "llama");
  CHECK(r.tensors().size() == 272);
  const auto& emb = r.tensor_info("token_embd.weight");
  CHECK(emb.dtype == DType::Q8_0);
  CHECK(emb.shape == Shape{49152, 576});
  CHECK(emb.nbytes == 49152ull * 576 / 32 * 34);
  CHECK(r.get_u32("llama.block_count") == 30);
  CHECK(r.get_u32("llama.embedding_length") == 576);
  CHECK(r.get_string_array("tokenizer.ggml.tokens").size() == 49152);
  const Tensor t = r.tensor(emb);
  CHECK(t.shape() == Shape{49152, 576});
  CHECK(t.row_bytes() == 576 / 32 * 34);
}
