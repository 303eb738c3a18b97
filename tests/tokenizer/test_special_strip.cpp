// Special tokens that swallow neighbouring whitespace (Hugging Face's added-token
// lstrip/rstrip, which GGUF does not store): Phi-3's, set by model name.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cnai/text/tokenizer.hpp"
#include "tokenizer_test_data.hpp"

namespace {

std::vector<std::int32_t> encode(const cnai::Tokenizer& t, const std::string& text) {
  cnai::EncodeOptions o;
  o.parse_special = true;
  return t.encode(text, o);
}

}  // namespace

TEST_CASE("Phi-3's special tokens swallow the whitespace after them; <s> and others keep it") {
  const auto path = cnai::testing::shared_data_or_skip("tokenizer/ggml-vocab-phi-3.gguf");
  if (!path) return;
  const auto phi3 = cnai::Tokenizer::from_gguf(path->string());
  REQUIRE(phi3.vocab().model_name.find("Phi") != std::string::npos);
  // "</s>  CamelCase" encodes as "</s>CamelCase": the spaces after </s> are gone.
  CHECK(encode(phi3, "x</s>  \n CamelCase") == encode(phi3, "x</s>CamelCase"));
  CHECK(encode(phi3, "<|end|>\n<|user|>\nHi") == encode(phi3, "<|end|><|user|>Hi"));
  // Whitespace before the token stays (rstrip only), and <s> keeps what follows it.
  CHECK(encode(phi3, "x  </s>") != encode(phi3, "x</s>"));
  CHECK(encode(phi3, "<s>  Hi") != encode(phi3, "<s>Hi"));
  // A SentencePiece vocabulary of another model keeps the spaces.
  const auto llama = cnai::Tokenizer::from_gguf((tokenizer_data_dir() / "ggml-vocab-llama-spm.gguf").string());
  CHECK(encode(llama, "x</s>  CamelCase") != encode(llama, "x</s>CamelCase"));
}
