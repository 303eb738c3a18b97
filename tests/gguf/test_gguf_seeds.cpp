// The fuzz seeds in fuzz/seeds/fuzz_gguf/ are built here by GgufBuilder.
// They must parse cleanly and match the files in the tree; set
// CNAI_UPDATE_SEEDS=1 to rewrite the files after changing a seed.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "cnai/gguf/gguf.hpp"
#include "support/gguf_builder.hpp"

using namespace cnai;
using namespace cnai::testing;

namespace {

Bytes seed_scalars() {
  GgufBuilder b(3);
  b.kv("general.architecture", gv::str("llama")).kv("u8", gv::u8(1)).kv("i8", gv::i8(-1));
  b.kv("u16", gv::u16(2)).kv("i16", gv::i16(-2)).kv("u32", gv::u32(3)).kv("i32", gv::i32(-3));
  b.kv("u64", gv::u64(4)).kv("i64", gv::i64(-4)).kv("f32", gv::f32(0.5f)).kv("f64", gv::f64(0.25));
  b.kv("bool", gv::boolean(true));
  b.f32_tensor("w", {2, 2}, {1, 2, 3, 4});
  return b.build();
}

Bytes seed_arrays_v2() {
  GgufBuilder b(2);
  b.kv("s", gv::str_array({"a", "bc", ""})).kv("f", gv::f32_array({1, 2})).kv("i", gv::i32_array({-1, 7}));
  b.kv("b", gv::array(7, {gv::boolean(true), gv::boolean(false)}));
  b.kv("n", gv::array(9, {gv::array(9, {gv::i32_array({1})}), gv::str_array({"x"})}));
  return b.build();
}

Bytes seed_quantized() {
  GgufBuilder b(3);
  b.alignment(64).kv("general.alignment", gv::u32(64));
  GgufBuilderTensor q8{"q8", 8, {32, 2}, Bytes(68, 0x11), std::nullopt};
  GgufBuilderTensor q41{"q41", 3, {64}, Bytes(40, 0x22), std::nullopt};
  GgufBuilderTensor f16{"h", 1, {3, 1, 1, 2}, Bytes(12, 0x3c), std::nullopt};
  b.tensor(q8).tensor(q41).tensor(f16);
  return b.build();
}

Bytes seed_tokenizer() {
  GgufBuilder b(3);
  b.kv("tokenizer.ggml.model", gv::str("gpt2"));
  b.kv("tokenizer.ggml.tokens", gv::str_array({"<s>", "</s>", "a", "b", "ab", "\xc4\xa0"}));
  b.kv("tokenizer.ggml.scores", gv::f32_array({0, 0, -1, -2, -3, -4}));
  b.kv("tokenizer.ggml.token_type", gv::i32_array({3, 3, 1, 1, 1, 1}));
  b.kv("tokenizer.ggml.merges", gv::str_array({"a b"}));
  b.kv("tokenizer.ggml.bos_token_id", gv::u32(0));
  return b.build();
}

std::map<std::string, Bytes> seeds() {
  return {{"scalars_v3", seed_scalars()}, {"arrays_v2", seed_arrays_v2()},
          {"quantized_aligned", seed_quantized()}, {"tokenizer", seed_tokenizer()}};
}

}  // namespace

TEST_CASE("gguf: fuzz seeds parse and match fuzz/seeds/fuzz_gguf") {
  const std::filesystem::path dir = std::filesystem::path(CNAI_SOURCE_DIR) / "fuzz/seeds/fuzz_gguf";
  const char* update = std::getenv("CNAI_UPDATE_SEEDS");
  for (const auto& [name, bytes] : seeds()) {
    CAPTURE(name);
    CHECK(bytes.size() < 4096);
    const auto r = GgufReader::from_copy(bytes);
    CHECK(!r.metadata().empty());
    const auto path = dir / name;
    if (update && std::string(update) == "1") {
      std::filesystem::create_directories(dir);
      std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                  static_cast<std::streamsize>(bytes.size()));
    }
    std::ifstream in(path, std::ios::binary);
    const Bytes on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK_MESSAGE(on_disk == bytes, "seed out of date; rerun with CNAI_UPDATE_SEEDS=1");
  }
  const auto q = GgufReader::from_copy(seed_quantized());
  CHECK(q.tensor_info("q41").offset % 64 == 0);
  CHECK(q.tensor_info("h").shape == Shape{2, 1, 1, 3});
}
