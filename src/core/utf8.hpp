// UTF-8 helpers shared by the text layer (tokenizers, the Jinja engine, the
// stop matcher) and anything else that must not split a character.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cnai::core {

/// Length of the UTF-8 sequence starting at s[i] if it is valid, else 0.
std::size_t utf8_valid_length(std::string_view s, std::size_t i);
/// Copy of `s` with every invalid sequence replaced by U+FFFD.
std::string sanitize_utf8(std::string_view s);
/// Decodes one valid sequence at s[i] (caller checked validity); advances i.
std::uint32_t utf8_next(std::string_view s, std::size_t& i);
void utf8_append(std::string& out, std::uint32_t cp);

}  // namespace cnai::core
