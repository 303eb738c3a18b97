// GPT-2's byte-to-unicode alphabet (every byte gets a printable code point).
#include <array>
#include <string>
#include <string_view>

#include "text/tokenizer_internal.hpp"

namespace cnai::text {

namespace {

// GPT-2 keeps printable Latin-1 bytes as themselves and moves the rest
// (controls, space, DEL, NBSP, soft hyphen) to U+0100 onwards, in byte order.
std::array<std::uint32_t, 256> make_byte_code_points() {
  std::array<std::uint32_t, 256> cps{};
  std::uint32_t next = 256;
  for (std::uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    cps[b] = printable ? b : next++;
  }
  return cps;
}

const std::array<std::uint32_t, 256>& byte_code_points() {
  static const auto cps = make_byte_code_points();
  return cps;
}

}  // namespace

const std::array<std::string, 256>& byte_to_unicode() {
  static const auto table = [] {
    std::array<std::string, 256> t;
    for (std::size_t b = 0; b < 256; ++b) core::utf8_append(t[b], byte_code_points()[b]);
    return t;
  }();
  return table;
}

int unicode_to_byte(std::uint32_t cp) {
  if (cp < 256) {
    const auto& cps = byte_code_points();
    return cps[cp] == cp ? static_cast<int>(cp) : -1;
  }
  if (cp < 256 + 68) {  // 68 bytes are moved; find which
    const auto& cps = byte_code_points();
    for (int b = 0; b < 256; ++b) {
      if (cps[static_cast<std::size_t>(b)] == cp) return b;
    }
  }
  return -1;
}

}  // namespace cnai::text
