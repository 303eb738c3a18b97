// Token ids back to text: each token's bytes are computed once at load.
#include <string>

#include "cnai/core/error.hpp"
#include "text/tokenizer_internal.hpp"

namespace cnai {

using namespace text;

namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581

std::string replace_space_markers(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (text.compare(i, kSpaceMarker.size(), kSpaceMarker) == 0) {
      out += ' ';
      i += kSpaceMarker.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

// Byte-level text back to bytes; characters outside the byte alphabet
// (as in added tokens stored verbatim) are kept as they are.
std::string bytes_from_byte_level(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t start = i;
    const std::size_t len = core::utf8_valid_length(text, i);
    if (len == 0) {
      out += text[i++];
      continue;
    }
    const int b = unicode_to_byte(core::utf8_next(text, i));
    if (b >= 0) {
      out += static_cast<char>(b);
    } else {
      out.append(text.substr(start, i - start));
    }
  }
  return out;
}

}  // namespace

void Tokenizer::Impl::build_pieces() {
  pieces.resize(vocab.tokens.size());
  for (std::size_t i = 0; i < vocab.tokens.size(); ++i) {
    const std::string& t = vocab.tokens[i];
    const TokenType type = type_of(static_cast<std::int32_t>(i));
    if (type == TokenType::control || type == TokenType::unknown || type == TokenType::user_defined) {
      pieces[i] = t;  // added tokens hold their text verbatim; specials show only on request
    } else if (kind == ModelKind::bpe) {
      pieces[i] = bytes_from_byte_level(t);
    } else if (type == TokenType::byte) {
      int b = 0;
      for (std::size_t k = 3; k < 5; ++k) {
        const char c = t[k];
        b = b * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
      }
      pieces[i] = std::string(1, static_cast<char>(b));
    } else {
      pieces[i] = replace_space_markers(t);
    }
  }
}

std::string Tokenizer::token_to_piece(std::int32_t id, bool render_special) const {
  const TokenType type = token_type(id);  // checks the range
  if (!render_special && (type == TokenType::control || type == TokenType::unknown)) return {};
  return impl_->pieces[static_cast<std::size_t>(id)];
}

namespace {

// SentencePiece and WordPiece mark word starts with a space; the first one is
// not part of the text.
bool strips_leading_space(const Tokenizer::Impl& im) {
  return (im.kind == ModelKind::spm && im.vocab.add_space_prefix) || im.kind == ModelKind::wpm;
}

}  // namespace

std::string Tokenizer::decode(std::span<const std::int32_t> ids, bool render_special) const {
  std::string text;
  bool first = true;
  for (std::int32_t id : ids) {
    const TokenType type = token_type(id);  // checks the range
    if (!render_special && (type == TokenType::control || type == TokenType::unknown)) continue;
    std::string_view piece = impl_->pieces[static_cast<std::size_t>(id)];
    if (piece.empty()) continue;
    if (first && piece[0] == ' ' && strips_leading_space(*impl_)) piece.remove_prefix(1);
    first = false;
    text += piece;
  }
  return text;
}

}  // namespace cnai
