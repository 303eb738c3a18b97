#include "core/printable.hpp"

#include "core/utf8.hpp"

namespace cnai::core {
namespace {

void append_escape(std::string& out, std::uint32_t c) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default: break;
  }
  out += "\\x";  // C0, DEL and C1 (U+0080..U+009F): two hex digits
  out += kHex[(c >> 4) & 15];
  out += kHex[c & 15];
}

}  // namespace

std::string printable(std::string_view text, std::size_t max_bytes) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (out.size() >= max_bytes) {
      out += "...";
      break;
    }
    const std::size_t n = utf8_valid_length(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    const std::uint32_t cp = utf8_next(text, i);
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
      append_escape(out, cp);
    } else {
      utf8_append(out, cp);
    }
  }
  return out;
}

}  // namespace cnai::core
