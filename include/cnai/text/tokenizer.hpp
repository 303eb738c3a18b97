// Tokenizers for GGUF models: byte-level BPE ("gpt2"), SentencePiece ("llama")
// and WordPiece ("bert"), built from the vocabulary a GGUF file carries, plus
// decoding to text and an incremental decoder that only emits whole UTF-8.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cnai/core/error.hpp"

namespace cnai {

class GgufReader;

/// GGUF `tokenizer.ggml.token_type` values.
enum class TokenType : std::int32_t {
  undefined = 0,
  normal = 1,
  unknown = 2,
  control = 3,
  user_defined = 4,
  unused = 5,
  byte = 6,
};

/// Everything a tokenizer is built from, as stored under `tokenizer.ggml.*`.
struct TokenizerVocab {
  std::string model;  // "gpt2", "llama" or "bert"
  std::string pre = "default";  // pre-tokenizer name (tokenizer.ggml.pre)
  std::vector<std::string> tokens;
  std::vector<float> scores;              // SentencePiece merge scores (may be empty otherwise)
  std::vector<std::int32_t> token_types;  // TokenType values (may be empty: all normal)
  std::vector<std::string> merges;        // BPE merges "left right", rank = index
  std::int32_t bos_id = -1;
  std::int32_t eos_id = -1;
  std::int32_t eot_id = -1;
  std::int32_t unk_id = -1;
  std::int32_t pad_id = -1;
  std::int32_t sep_id = -1;
  std::int32_t cls_id = -1;
  std::int32_t mask_id = -1;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;  // SentencePiece: prepend "▁" to the text
  /// general.name and general.architecture: some models' special tokens swallow
  /// the whitespace beside them (Hugging Face's added-token lstrip/rstrip, which
  /// GGUF does not store; set by name as llama.cpp does, e.g. Phi-3's `<|end|>`).
  std::string model_name;
  std::string architecture;

  /// Reads the `tokenizer.ggml.*` metadata. Throws Error(model_format) when
  /// required arrays are missing or have the wrong type.
  static TokenizerVocab from_gguf(const GgufReader& reader);
};

struct EncodeOptions {
  bool add_special = true;  // add BOS/EOS as the vocab's add_bos/add_eos say
  // Turn control-token text ("<|endoftext|>") into its id. User-defined
  // (added) tokens are always recognised, as Hugging Face and llama.cpp do.
  bool parse_special = false;
};

/// Immutable once built: encode/decode are const and safe to call from
/// several threads at once.
class Tokenizer {
 public:
  /// Validates the vocabulary and builds lookup tables. Throws
  /// Error(model_format) for an inconsistent vocabulary.
  explicit Tokenizer(TokenizerVocab vocab);
  static Tokenizer from_gguf(const std::string& path);
  static Tokenizer from_gguf(const GgufReader& reader);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  /// Invalid UTF-8 in `text` is read as U+FFFD.
  std::vector<std::int32_t> encode(std::string_view text, const EncodeOptions& options = {}) const;

  /// The bytes a token stands for (may be part of a UTF-8 character).
  /// Control tokens render as their text only when `render_special`.
  /// Throws Error(invalid_argument) for an id outside the vocabulary.
  std::string token_to_piece(std::int32_t id, bool render_special = true) const;

  /// Concatenated pieces; control tokens are skipped unless `render_special`;
  /// the SentencePiece/WordPiece leading space is removed. May hold invalid UTF-8
  /// if `ids` ends inside a character.
  std::string decode(std::span<const std::int32_t> ids, bool render_special = false) const;

  std::int32_t vocab_size() const;
  std::int32_t bos() const;
  std::int32_t eos() const;
  std::int32_t eot() const;
  std::int32_t unk() const;
  std::int32_t pad() const;
  /// End of generation: eos, eot, or another end-marking control token.
  bool is_eog(std::int32_t id) const;
  TokenType token_type(std::int32_t id) const;
  const TokenizerVocab& vocab() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cnai
