// StreamDecoder — token ids to text one at a time, never emitting half a
// UTF-8 character: what a streaming generation prints as it goes.
#pragma once

#include <cstdint>
#include <string>

#include "cnai/text/tokenizer.hpp"

namespace cnai {

/// Turns a stream of token ids into text, holding back bytes until they form
/// whole UTF-8 characters (an emoji split over two tokens comes out once).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool render_special = false);

  /// Text completed by this token (possibly empty).
  std::string push(std::int32_t id);
  /// Whatever is still held back; an incomplete character becomes U+FFFD.
  std::string flush();

 private:
  const Tokenizer* tokenizer_;
  bool render_special_;
  bool first_ = true;
  std::string pending_;
};

}  // namespace cnai
