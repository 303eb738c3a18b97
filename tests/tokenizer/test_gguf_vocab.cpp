// Loading a vocabulary from GGUF metadata: tiny GGUF files built in memory,
// complete ones load, missing or mistyped arrays fail with model_format.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/gguf/gguf.hpp"
#include "cnai/text/tokenizer.hpp"

namespace {

// Writes GGUF v3 metadata (no tensors) one key at a time.
class GgufBytes {
 public:
  void string(const std::string& key, const std::string& value) {
    header(key, 8);
    put_string(value);
  }
  void strings(const std::string& key, const std::vector<std::string>& values) {
    header(key, 9);
    put<std::uint32_t>(8);
    put<std::uint64_t>(values.size());
    for (const auto& v : values) put_string(v);
  }
  void int32s(const std::string& key, const std::vector<std::int32_t>& values) {
    header(key, 9);
    put<std::uint32_t>(5);
    put<std::uint64_t>(values.size());
    for (auto v : values) put(v);
  }
  void uint32(const std::string& key, std::uint32_t value) {
    header(key, 4);
    put(value);
  }
  std::vector<std::uint8_t> finish() const {
    GgufBytes out;
    out.put<std::uint32_t>(0x46554747u);
    out.put<std::uint32_t>(3);
    out.put<std::uint64_t>(0);
    out.put<std::uint64_t>(count_);
    out.bytes_.insert(out.bytes_.end(), bytes_.begin(), bytes_.end());
    return out.bytes_;
  }

 private:
  template <typename T>
  void put(T v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
  }
  void put_string(const std::string& s) {
    put<std::uint64_t>(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  void header(const std::string& key, std::uint32_t type) {
    put_string(key);
    put(type);
    ++count_;
  }
  std::vector<std::uint8_t> bytes_;
  std::uint64_t count_ = 0;
};

// A byte-level BPE vocab: "a", "b", "ab" and one merge.
GgufBytes tiny_bpe_gguf(bool with_merges, bool with_types) {
  GgufBytes g;
  g.string("tokenizer.ggml.model", "gpt2");
  g.string("tokenizer.ggml.pre", "gpt-2");
  g.strings("tokenizer.ggml.tokens", {"a", "b", "ab", "<eos>"});
  if (with_types) g.int32s("tokenizer.ggml.token_type", {1, 1, 1, 3});
  if (with_merges) g.strings("tokenizer.ggml.merges", {"a b"});
  g.uint32("tokenizer.ggml.eos_token_id", 3);
  return g;
}

cnai::ErrorCode load_error(const std::vector<std::uint8_t>& bytes) {
  try {
    (void)cnai::Tokenizer::from_gguf(cnai::GgufReader::from_copy(bytes));
  } catch (const cnai::Error& e) {
    return e.code();
  }
  FAIL("expected an error");
  return cnai::ErrorCode::internal;
}

}  // namespace

TEST_CASE("a complete GGUF vocabulary loads and encodes") {
  const auto tok = cnai::Tokenizer::from_gguf(cnai::GgufReader::from_copy(tiny_bpe_gguf(true, true).finish()));
  CHECK(tok.vocab_size() == 4);
  CHECK(tok.eos() == 3);
  CHECK(tok.is_eog(3));
  CHECK(tok.encode("abba", {.add_special = false}) == std::vector<std::int32_t>{2, 1, 0});
  CHECK(tok.encode("ab<eos>", {.add_special = false, .parse_special = true}) == std::vector<std::int32_t>{2, 3});
}

TEST_CASE("missing or inconsistent GGUF tokenizer metadata is a model_format error") {
  CHECK(load_error(tiny_bpe_gguf(false, true).finish()) == cnai::ErrorCode::model_format);  // no merges
  GgufBytes no_tokens;
  no_tokens.string("tokenizer.ggml.model", "gpt2");
  no_tokens.strings("tokenizer.ggml.merges", {});
  CHECK(load_error(no_tokens.finish()) == cnai::ErrorCode::model_format);
  GgufBytes short_types = tiny_bpe_gguf(true, false);
  short_types.int32s("tokenizer.ggml.token_type", {1, 1});
  CHECK(load_error(short_types.finish()) == cnai::ErrorCode::model_format);
  GgufBytes wrong_type;
  wrong_type.string("tokenizer.ggml.model", "gpt2");
  wrong_type.string("tokenizer.ggml.tokens", "not an array");
  wrong_type.strings("tokenizer.ggml.merges", {});
  CHECK(load_error(wrong_type.finish()) == cnai::ErrorCode::model_format);
  GgufBytes spm_without_scores;
  spm_without_scores.string("tokenizer.ggml.model", "llama");
  spm_without_scores.strings("tokenizer.ggml.tokens", {"<unk>", "a"});
  CHECK(load_error(spm_without_scores.finish()) == cnai::ErrorCode::model_format);
}
