// Pre-tokenizer regexes: every named pre-tokenizer compiles, and the ones
// without a vocab in the shared data split text as their definitions say.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cnai/core/error.hpp"
#include "text/tokenizer_internal.hpp"

using cnai::text::pretokenizer_patterns;
using cnai::text::RegexSplitter;

namespace {

std::vector<std::string> split(const char* pre, std::string_view text) {
  const RegexSplitter splitter(pretokenizer_patterns(pre));
  std::vector<std::string> out;
  for (auto piece : splitter.split(text)) out.emplace_back(piece);
  return out;
}

using Pieces = std::vector<std::string>;

}  // namespace

TEST_CASE("every supported pre-tokenizer compiles and covers its input") {
  const std::string text = "Hello world! 12345 \xE6\x88\x91\xE6\x83\xB3 I'LL  go\n\n\tnow   ";
  for (const char* pre : {"gpt-2", "llama-bpe", "llama3", "smollm", "starcoder", "qwen2", "deepseek-coder",
                          "deepseek-llm", "falcon", "mpt", "refact", "default", "stablelm2", "dbrx", "gpt-4o",
                          "tekken", "deepseek-v3"}) {
    CAPTURE(pre);
    std::string joined;
    for (const auto& piece : split(pre, text)) {
      CHECK_FALSE(piece.empty());
      joined += piece;
    }
    CHECK(joined == text);  // pre-tokenization never loses or reorders bytes
  }
  CHECK_THROWS_AS(pretokenizer_patterns("no-such-pre"), cnai::Error);
}

TEST_CASE("number grouping differs by pre-tokenizer") {
  CHECK(split("llama-bpe", "x 1234567") == Pieces{"x", " ", "123", "456", "7"});
  CHECK(split("qwen2", "x 123") == Pieces{"x", " ", "1", "2", "3"});
  CHECK(split("gpt-2", "x 123") == Pieces{"x", " 123"});
  CHECK(split("smollm", "x 123") == Pieces{"x", " ", "1", "2", "3"});
}

TEST_CASE("llama3 contractions are case-insensitive, gpt-2's are not") {
  CHECK(split("llama-bpe", "I'LL") == Pieces{"I", "'LL"});
  CHECK(split("gpt-2", "I'LL") == Pieces{"I", "'", "LL"});
  CHECK(split("gpt-2", "I'll") == Pieces{"I", "'ll"});
}

TEST_CASE("deepseek-llm keeps CJK runs and newlines apart") {
  CHECK(split("deepseek-llm", "ab\n\xE6\x88\x91\xE6\x83\xB3") == Pieces{"ab", "\n", "\xE6\x88\x91\xE6\x83\xB3"});
}

TEST_CASE("o200k and tekken split words at case changes") {
  CHECK(split("gpt-4o", "HelloWorld's 12345") == Pieces{"Hello", "World's", " ", "123", "45"});
  CHECK(split("tekken", "HelloWorld's 12") == Pieces{"Hello", "World", "'s", " ", "1", "2"});
  CHECK(split("deepseek-v3", "x.Foo 12345") == Pieces{"x", ".Foo", " ", "123", "45"});
}
