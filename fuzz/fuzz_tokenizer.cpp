// Fuzzes encode/decode with arbitrary bytes: the gpt-2 (byte-level BPE),
// llama-spm and bert-bge vocabs from the shared test data, or a small BPE vocab
// when those files are absent. Byte-level BPE must round-trip any text exactly.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/text/tokenizer.hpp"
#include "cnai/text/stream_decoder.hpp"
#include "text/tokenizer_internal.hpp"

namespace {

cnai::TokenizerVocab small_bpe_vocab() {
  cnai::TokenizerVocab v;
  v.model = "gpt2";
  v.pre = "gpt-2";
  const auto& alphabet = cnai::text::byte_to_unicode();
  for (const auto& ch : alphabet) v.tokens.push_back(ch);
  for (const char* t : {"th", "the", "in", "ing", "<|endoftext|>"}) v.tokens.push_back(t);
  v.token_types.assign(v.tokens.size(), 1);
  v.token_types.back() = 3;
  v.merges = {"t h", "th e", "i n", "in g"};
  v.eos_id = static_cast<std::int32_t>(v.tokens.size() - 1);
  return v;
}

std::vector<std::unique_ptr<cnai::Tokenizer>> load_tokenizers() {
  std::vector<std::unique_ptr<cnai::Tokenizer>> out;
  const char* env = std::getenv("CNAI_SHARED_DATA_DIR");
  const std::filesystem::path dir = std::filesystem::path(env != nullptr ? env : CNAI_SHARED_DATA_DIR) / "tokenizer";
  for (const char* name : {"ggml-vocab-gpt-2.gguf", "ggml-vocab-llama-spm.gguf", "ggml-vocab-bert-bge.gguf"}) {
    if (std::filesystem::exists(dir / name)) {
      out.push_back(std::make_unique<cnai::Tokenizer>(cnai::Tokenizer::from_gguf((dir / name).string())));
    }
  }
  if (out.empty()) out.push_back(std::make_unique<cnai::Tokenizer>(small_bpe_vocab()));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto tokenizers = load_tokenizers();
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string clean = cnai::core::sanitize_utf8(text);
  for (const auto& tok : tokenizers) {
    for (bool parse_special : {false, true}) {
      const auto ids = tok->encode(text, {.add_special = false, .parse_special = parse_special});
      const std::string back = tok->decode(ids, /*render_special=*/true);
      cnai::StreamDecoder stream(*tok, /*render_special=*/true);
      std::string streamed;
      for (auto id : ids) streamed += stream.push(id);
      streamed += stream.flush();
      if (back != streamed && cnai::core::sanitize_utf8(back) != streamed) std::abort();
      // Byte-level BPE loses nothing (SentencePiece may normalise spaces at the start).
      if (tok->vocab().model == "gpt2" && back != clean) std::abort();
    }
    // Arbitrary ids: in range decode, out of range throw invalid_argument.
    std::vector<std::int32_t> ids;
    for (std::size_t i = 0; i + 3 < size && ids.size() < 64; i += 4) {
      std::int32_t id = 0;
      for (int k = 0; k < 4; ++k) id = (id << 8) | data[i + static_cast<std::size_t>(k)];
      ids.push_back(id % (tok->vocab_size() + 16));
    }
    try {
      (void)tok->decode(ids);
    } catch (const cnai::Error& e) {
      if (e.code() != cnai::ErrorCode::invalid_argument) std::abort();
    }
  }
  return 0;
}
