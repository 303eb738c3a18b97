// The default model's tokenizer (SmolLM2: byte-level BPE, smollm pre-tokenizer,
// ChatML specials): special ids, end of generation, round trips.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "cnai/gguf/gguf.hpp"
#include "cnai/text/tokenizer.hpp"
#include "support/default_model.hpp"

namespace {

std::int32_t token_id(const cnai::Tokenizer& tok, const std::string& text) {
  const auto& tokens = tok.vocab().tokens;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] == text) return static_cast<std::int32_t>(i);
  }
  return -1;
}

}  // namespace

TEST_CASE("SmolLM2 tokenizer from the default model") {
  const auto found = cnai::testing::default_model_or_skip();
  if (!found) return;
  const std::string path = *found;
  const auto reader = cnai::GgufReader::open(path);
  const auto tok = cnai::Tokenizer::from_gguf(reader);
  CHECK(tok.vocab_size() == 49152);
  CHECK(tok.vocab().model == "gpt2");
  CHECK(tok.vocab().pre == "smollm");

  const std::int32_t im_start = token_id(tok, "<|im_start|>");
  const std::int32_t im_end = token_id(tok, "<|im_end|>");
  REQUIRE(im_start >= 0);
  REQUIRE(im_end >= 0);
  CHECK(tok.is_eog(im_end));
  CHECK(tok.is_eog(tok.eos()));
  CHECK_FALSE(tok.is_eog(im_start));

  const std::string chat = "<|im_start|>user\nWhat is 2+2? \xF0\x9F\xA4\x94<|im_end|>\n";
  const auto parsed = tok.encode(chat, {.add_special = false, .parse_special = true});
  REQUIRE(parsed.size() > 4);
  CHECK(parsed.front() == im_start);
  CHECK(std::count(parsed.begin(), parsed.end(), im_end) == 1);
  CHECK(tok.decode(parsed, /*render_special=*/true) == chat);
  const auto plain = tok.encode(chat, {.add_special = false, .parse_special = false});
  CHECK(std::count(plain.begin(), plain.end(), im_start) == 0);
  CHECK(tok.decode(plain) == chat);
  // Digits are split one by one by the smollm pre-tokenizer.
  const auto digits = tok.encode("12345", {.add_special = false});
  CHECK(digits.size() == 5);
}
