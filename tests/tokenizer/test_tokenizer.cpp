// Tokenizer behaviour on small vocabularies built in memory: BPE merges by
// rank, SentencePiece scores and byte fallback, WordPiece, special tokens,
// invalid input, out-of-range ids, malformed vocabularies, streaming decode.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/text/tokenizer.hpp"
#include "cnai/text/stream_decoder.hpp"
#include "tokenizer_test_data.hpp"

using cnai::ErrorCode;
using cnai::TokenizerVocab;

namespace {

// GPT-2's byte alphabet, written out independently of the library.
std::string byte_char(int b) {
  int cp = b;
  if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)) {
    int n = 0;
    for (int k = 0; k < b; ++k) {
      if (!((k >= 33 && k <= 126) || (k >= 161 && k <= 172) || k >= 174)) ++n;
    }
    cp = 256 + n;
  }
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// 256 byte tokens, then hello-building merges, then one control token.
TokenizerVocab tiny_bpe() {
  TokenizerVocab v;
  v.model = "gpt2";
  v.pre = "gpt-2";
  for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_char(b));
  for (const char* t : {"he", "ll", "hell", "hello", "<|endoftext|>"}) v.tokens.push_back(t);
  v.token_types.assign(v.tokens.size(), 1);
  v.token_types.back() = 3;
  v.merges = {"h e", "l l", "he ll", "hell o"};
  v.eos_id = static_cast<std::int32_t>(v.tokens.size() - 1);
  v.bos_id = v.eos_id;
  return v;
}

std::int32_t id_of(const TokenizerVocab& v, const std::string& t) {
  for (std::size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.tokens[i] == t) return static_cast<std::int32_t>(i);
  }
  return -1;
}

TokenizerVocab tiny_spm() {
  TokenizerVocab v;
  v.model = "llama";
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.token_types = {2, 3, 3};
  char buf[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
    v.tokens.push_back(buf);
    v.token_types.push_back(6);
  }
  const std::pair<const char*, float> pieces[] = {
      {"\xE2\x96\x81", -5}, {"h", -6}, {"i", -6}, {"\xE2\x96\x81h", -1}, {"hi", -2}, {"\xE2\x96\x81hi", -0.5f}};
  for (auto [t, s] : pieces) {
    v.tokens.push_back(t);
    v.token_types.push_back(1);
  }
  v.scores.assign(v.tokens.size(), 0.0f);
  for (std::size_t k = 0; k < 6; ++k) v.scores[v.tokens.size() - 6 + k] = pieces[k].second;
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  v.add_bos = true;
  v.add_space_prefix = true;
  return v;
}

TokenizerVocab tiny_bert() {
  TokenizerVocab v;
  v.model = "bert";
  v.tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "\xE2\x96\x81hello", "\xE2\x96\x81world",
              "\xE2\x96\x81un", "aff", "able", "\xE2\x96\x81,"};
  v.token_types = {3, 3, 3, 3, 1, 1, 1, 1, 1, 1};
  v.unk_id = 1;
  v.cls_id = 2;
  v.sep_id = 3;
  v.pad_id = 0;
  v.add_bos = true;
  v.add_eos = true;
  return v;
}

void require_format_error(TokenizerVocab v, const char* what) {
  CAPTURE(what);
  try {
    cnai::Tokenizer tok(std::move(v));
    FAIL("expected Error(model_format)");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == ErrorCode::model_format);
  }
}

}  // namespace

TEST_CASE("BPE applies merges by rank and falls back to byte tokens") {
  const auto v = tiny_bpe();
  const cnai::Tokenizer tok(v);
  const cnai::EncodeOptions plain{.add_special = false};
  CHECK(tok.encode("hello", plain) == std::vector<std::int32_t>{id_of(v, "hello")});
  CHECK(tok.encode("hellx", plain) == std::vector<std::int32_t>{id_of(v, "hell"), 'x'});
  // " hello" is one pre-token; no merge joins the space byte (Ġ) with "hello".
  CHECK(tok.encode(" hello", plain) == std::vector<std::int32_t>{id_of(v, byte_char(' ')), id_of(v, "hello")});
  CHECK(tok.decode(tok.encode("say hello\n", plain)) == "say hello\n");
  CHECK(tok.vocab_size() == 261);
  CHECK(tok.is_eog(tok.eos()));
  CHECK_FALSE(tok.is_eog(id_of(v, "hello")));
}

TEST_CASE("special-token text is plain text unless parse_special") {
  const auto v = tiny_bpe();
  const cnai::Tokenizer tok(v);
  const std::int32_t eot = id_of(v, "<|endoftext|>");
  const auto as_text = tok.encode("he<|endoftext|>", {.add_special = false});
  CHECK(as_text.size() > 2);
  CHECK(std::find(as_text.begin(), as_text.end(), eot) == as_text.end());
  CHECK(tok.encode("he<|endoftext|>", {.add_special = false, .parse_special = true}) ==
        std::vector<std::int32_t>{id_of(v, "he"), eot});
  CHECK(tok.decode(std::vector<std::int32_t>{id_of(v, "he"), eot}) == "he");
  CHECK(tok.decode(std::vector<std::int32_t>{id_of(v, "he"), eot}, true) == "he<|endoftext|>");
}

TEST_CASE("invalid UTF-8 input reads as U+FFFD") {
  const cnai::Tokenizer tok(tiny_bpe());
  const cnai::EncodeOptions plain{.add_special = false};
  for (const std::string& bad : {std::string("a\xFF" "b"), std::string("\xC3"), std::string("x\xE2\x82"),
                                std::string("\xED\xA0\x80"), std::string("\xC0\xAF"), std::string("\0\x80", 2)}) {
    CAPTURE(bad);
    const auto ids = tok.encode(bad, plain);
    CHECK_FALSE(ids.empty());
    const std::string text = tok.decode(ids);
    CHECK(text.find("\xEF\xBF\xBD") != std::string::npos);
  }
  CHECK(tok.decode(tok.encode("a\xFF" "b", plain)) == "a\xEF\xBF\xBD" "b");
}

TEST_CASE("token ids outside the vocabulary are rejected") {
  const cnai::Tokenizer tok(tiny_bpe());
  for (std::int32_t id : {-1, tok.vocab_size(), 1 << 30}) {
    CAPTURE(id);
    CHECK_THROWS_AS(tok.token_to_piece(id), cnai::Error);
    try {
      (void)tok.decode(std::vector<std::int32_t>{0, id});
    } catch (const cnai::Error& e) {
      CHECK(e.code() == ErrorCode::invalid_argument);
    }
  }
}

TEST_CASE("SentencePiece merges by score, adds the space prefix and falls back to bytes") {
  const auto v = tiny_spm();
  const cnai::Tokenizer tok(v);
  const std::int32_t hi = id_of(v, "\xE2\x96\x81hi");
  CHECK(tok.encode("hi") == std::vector<std::int32_t>{1, hi});
  CHECK(tok.encode("hi", {.add_special = false}) == std::vector<std::int32_t>{hi});
  // "é" is not a token: its two bytes come out as <0xC3> <0xA9>.
  const auto ids = tok.encode("hi \xC3\xA9", {.add_special = false});
  CHECK(ids == std::vector<std::int32_t>{hi, id_of(v, "\xE2\x96\x81"), 3 + 0xC3, 3 + 0xA9});
  CHECK(tok.decode(ids) == "hi \xC3\xA9");
  CHECK(tok.encode("ih", {.add_special = false}) ==
        std::vector<std::int32_t>{id_of(v, "\xE2\x96\x81"), id_of(v, "i"), id_of(v, "h")});
}

TEST_CASE("WordPiece lowercases, splits punctuation and uses continuations") {
  const auto v = tiny_bert();
  const cnai::Tokenizer tok(v);
  CHECK(tok.encode("Hello, UNAFFABLE world!") ==
        std::vector<std::int32_t>{2, 4, 9, 6, 7, 8, 5, 1, 3});
  CHECK(tok.decode(tok.encode("hello world", {.add_special = false})) == "hello world");
}

TEST_CASE("StreamDecoder emits a character split across tokens once it is whole") {
  const auto v = tiny_bpe();
  const cnai::Tokenizer tok(v);
  const std::string rocket = "\xF0\x9F\x9A\x80";  // U+1F680, four byte tokens here
  const auto ids = tok.encode("a" + rocket + "b", {.add_special = false});
  REQUIRE(ids.size() == 6);
  cnai::StreamDecoder stream(tok);
  std::vector<std::string> outputs;
  for (auto id : ids) outputs.push_back(stream.push(id));
  CHECK(outputs == std::vector<std::string>{"a", "", "", "", rocket, "b"});
  CHECK(stream.flush().empty());
  // A dangling partial character comes out as U+FFFD at flush.
  cnai::StreamDecoder partial(tok);
  CHECK(partial.push(ids[1]).empty());
  CHECK(partial.flush() == "\xEF\xBF\xBD");
}

TEST_CASE("StreamDecoder over a real vocabulary reproduces decode") {
  const auto path = cnai::testing::shared_data_or_skip("tokenizer/ggml-vocab-gpt-2.gguf");
  if (!path) return;
  const auto tok = cnai::Tokenizer::from_gguf(path->string());
  const std::string text = "Emoji \xF0\x9F\x98\xB6\xE2\x80\x8D\xF0\x9F\x8C\xAB\xEF\xB8\x8F and \xF0\x9F\xA6\x99 llama";
  const auto ids = tok.encode(text, {.add_special = false});
  cnai::StreamDecoder stream(tok);
  std::string joined;
  for (auto id : ids) {
    const std::string part = stream.push(id);
    CHECK(part.find("\xEF\xBF\xBD") == std::string::npos);  // never a broken character
    joined += part;
  }
  joined += stream.flush();
  CHECK(joined == text);
  CHECK(tok.decode(ids) == text);
}

TEST_CASE("malformed vocabularies are rejected at load") {
  auto spm = tiny_spm();
  spm.tokens[3] = "<0xZZ>";
  require_format_error(spm, "byte token <0xZZ>");
  spm = tiny_spm();
  spm.tokens[4] = "<0x-1>";
  require_format_error(spm, "byte token <0x-1>");
  spm = tiny_spm();
  spm.scores.pop_back();
  require_format_error(spm, "scores shorter than tokens");
  spm = tiny_spm();
  spm.token_types.push_back(1);
  require_format_error(spm, "token types longer than tokens");
  spm = tiny_spm();
  spm.scores.clear();
  spm.tokens.clear();
  spm.token_types.clear();
  require_format_error(spm, "no tokens");

  auto bpe = tiny_bpe();
  bpe.merges.push_back("he zz");
  require_format_error(bpe, "merge of an unknown token");
  bpe = tiny_bpe();
  bpe.merges.push_back("hello");
  require_format_error(bpe, "merge without a space");
  bpe = tiny_bpe();
  bpe.eos_id = 100000;
  require_format_error(bpe, "eos id outside the vocabulary");
  bpe = tiny_bpe();
  bpe.token_types[5] = 42;
  require_format_error(bpe, "unknown token type");

  bpe = tiny_bpe();
  bpe.model = "rwkv";
  CHECK_THROWS_AS(cnai::Tokenizer{bpe}, cnai::Error);
}

TEST_CASE("concurrent encodes agree with a single-threaded one") {
  const auto v = tiny_bpe();
  const cnai::Tokenizer tok(v);
  std::string text;
  for (int i = 0; i < 200; ++i) text += "hello there, hell \xF0\x9F\xA6\x99 " + std::to_string(i) + "\n";
  const auto expected = tok.encode(text);
  std::vector<std::vector<std::int32_t>> results(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 20; ++k) results[t] = tok.encode(text);
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& r : results) CHECK(r == expected);
}
