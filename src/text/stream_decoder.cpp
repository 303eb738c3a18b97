// StreamDecoder holds back bytes until they make whole UTF-8 characters.
#include "cnai/text/stream_decoder.hpp"

#include <string>

#include "core/utf8.hpp"

namespace cnai {

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool render_special)
    : tokenizer_(&tokenizer), render_special_(render_special) {}

namespace {

// Bytes a lead byte announces, or 0 if it cannot start a sequence.
std::size_t expected_length(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return 4;
  return 0;
}

// True if s[i..] is a proper prefix of a sequence that more bytes could complete.
bool is_incomplete_tail(std::string_view s, std::size_t i) {
  const std::size_t want = expected_length(static_cast<unsigned char>(s[i]));
  if (want < 2 || s.size() - i >= want) return false;
  for (std::size_t k = i + 1; k < s.size(); ++k) {
    if ((static_cast<unsigned char>(s[k]) & 0xC0) != 0x80) return false;
  }
  return true;
}

}  // namespace

std::string StreamDecoder::push(std::int32_t id) {
  std::string piece = tokenizer_->token_to_piece(id, render_special_);
  if (piece.empty()) return {};
  if (first_) {
    first_ = false;
    const std::string text = tokenizer_->decode(std::span<const std::int32_t>(&id, 1), render_special_);
    piece = text;  // same leading-space rule as decode()
  }
  pending_ += piece;
  std::string ready;
  std::size_t i = 0;
  while (i < pending_.size()) {
    const std::size_t len = core::utf8_valid_length(pending_, i);
    if (len > 0) {
      ready.append(pending_, i, len);
      i += len;
    } else if (is_incomplete_tail(pending_, i)) {
      break;
    } else {
      ready += "\xEF\xBF\xBD";
      ++i;
    }
  }
  pending_.erase(0, i);
  return ready;
}

std::string StreamDecoder::flush() {
  std::string rest = core::sanitize_utf8(pending_);
  pending_.clear();
  return rest;
}

}  // namespace cnai
