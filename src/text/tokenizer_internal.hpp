// Private pieces shared by the tokenizer's source files: the built tables,
// UTF-8 helpers, the regex pre-tokenizer and the three segmentation models.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cnai/text/tokenizer.hpp"
#include "core/utf8.hpp"

namespace cnai::text {

// ---- regex pre-tokenizer (PCRE2) ----
class RegexSplitter {
 public:
  /// Regexes applied one after another; each splits every fragment into its
  /// matches and the text between them.
  /// With `keep_gaps` false, text between matches is dropped.
  explicit RegexSplitter(const std::vector<std::string>& patterns, bool keep_gaps = true);
  ~RegexSplitter();
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;
  /// Fragments of valid UTF-8 `text` as views into it.
  std::vector<std::string_view> split(std::string_view text) const;
  /// `text` with every match of the first pattern removed.
  std::string erase_matches(std::string_view text) const;

 private:
  struct Compiled;
  std::vector<std::unique_ptr<Compiled>> compiled_;
  bool keep_gaps_;
};

/// The regex list llama.cpp/HF use for a `tokenizer.ggml.pre` name.
/// Throws Error(unsupported) for an unknown name.
std::vector<std::string> pretokenizer_patterns(std::string_view pre_name);

// ---- GPT-2 byte <-> unicode mapping ----
const std::array<std::string, 256>& byte_to_unicode();
/// Maps a code point of the byte-level alphabet back to its byte, or -1.
int unicode_to_byte(std::uint32_t cp);

enum class ModelKind { bpe, spm, wpm };

}  // namespace cnai::text

namespace cnai {

struct Tokenizer::Impl {
  TokenizerVocab vocab;
  text::ModelKind kind = text::ModelKind::bpe;
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::int32_t, TextHash, std::equal_to<>> token_to_id;
  std::vector<std::string> pieces;          // decoded bytes per token
  std::vector<std::int32_t> special_order;  // partition candidates, longest text first
  std::array<std::vector<std::int32_t>, 256> special_by_first_byte;  // the same, bucketed
  std::vector<std::int32_t> eog_ids;
  /// Special tokens that swallow the whitespace before (lstrip) or after (rstrip) them.
  std::vector<std::int32_t> lstrip_ids, rstrip_ids;
  std::array<std::int32_t, 256> byte_token{};  // token for a single byte, or -1
  std::size_t max_token_len = 0;
  bool spm_newline_in_tokens = false;  // SentencePiece: some multi-byte token holds '\n' 

  // BPE: (left id, right id) -> rank and merged id
  struct Merge {
    std::int32_t rank;
    std::int32_t merged;
  };
  std::unordered_map<std::uint64_t, Merge> merges;
  std::unique_ptr<text::RegexSplitter> splitter;
  std::unique_ptr<text::RegexSplitter> unwanted_chars;  // WordPiece: removed before splitting

  std::int32_t find(std::string_view text) const {
    auto it = token_to_id.find(text);
    return it == token_to_id.end() ? -1 : it->second;
  }
  TokenType type_of(std::int32_t id) const {
    return vocab.token_types.empty() ? TokenType::normal
                                     : static_cast<TokenType>(vocab.token_types[static_cast<std::size_t>(id)]);
  }

  void build_bpe();
  void build_spm();
  void build_wpm();
  void build_pieces();
  // Each appends the ids of one run of plain text.
  void encode_bpe(std::string_view text, std::vector<std::int32_t>& out) const;
  void encode_spm(std::string_view text, bool space_prefix, std::vector<std::int32_t>& out) const;
  void encode_spm_chunk(std::string_view text, std::vector<std::int32_t>& out) const;
  void encode_wpm(std::string_view text, std::vector<std::int32_t>& out) const;
};

}  // namespace cnai
