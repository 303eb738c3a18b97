// Simple (one-to-one, plus ß -> SS) Unicode case mapping tables.
#include "text/jinja/unicode_case.hpp"

#include <vector>

#include "text/jinja/lexer.hpp"
#include "core/utf8.hpp"

namespace cnai::text::jinja {
namespace {

std::vector<char32_t> decode(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    if (c < 0x80) {
      out.push_back(c);
      ++i;
      continue;
    }
    if (len == 1 || i + len > s.size()) {
      out.push_back(c | 0x80000000u);  // a stray byte: kept as is
      ++i;
      continue;
    }
    char32_t cp = c & (0x7F >> len);
    for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

void encode(std::string& out, char32_t cp) {
  if (cp & 0x80000000u) {
    out += static_cast<char>(cp & 0xFF);
  } else {
    core::utf8_append(out, cp);
  }
}

// Ranges where upper and lower case sit at a fixed distance.
struct Shift {
  char32_t upper_first, upper_last;
  char32_t delta;
};
constexpr Shift kShifts[] = {
    {0x41, 0x5A, 0x20},     {0xC0, 0xD6, 0x20},     {0xD8, 0xDE, 0x20},     {0x391, 0x3A1, 0x20},
    {0x3A3, 0x3AB, 0x20},   {0x388, 0x38A, 0x25},   {0x38E, 0x38F, 0x3F},   {0x410, 0x42F, 0x20},
    {0x400, 0x40F, 0x50},   {0x531, 0x556, 0x30},   {0xFF21, 0xFF3A, 0x20},
};
// Ranges of alternating upper/lower pairs: (first upper, last lower).
struct Pairs {
  char32_t first, last;
};
constexpr Pairs kPairs[] = {{0x100, 0x12F}, {0x132, 0x137}, {0x139, 0x148}, {0x14A, 0x177}, {0x179, 0x17E},
                            {0x460, 0x481}, {0x48A, 0x4BF}, {0x4D0, 0x52F}};

char32_t to_lower(char32_t c) {
  for (const auto& s : kShifts) {
    if (c >= s.upper_first && c <= s.upper_last) return c + s.delta;
  }
  for (const auto& p : kPairs) {
    if (c >= p.first && c <= p.last && ((c - p.first) % 2 == 0)) return c + 1;
  }
  if (c == 0x386) return 0x3AC;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x178) return 0xFF;
  return c;
}

char32_t to_upper(char32_t c) {
  for (const auto& s : kShifts) {
    if (c >= s.upper_first + s.delta && c <= s.upper_last + s.delta) return c - s.delta;
  }
  for (const auto& p : kPairs) {
    if (c >= p.first && c <= p.last && ((c - p.first) % 2 == 1)) return c - 1;
  }
  if (c == 0x3AC) return 0x386;
  if (c == 0x3CC) return 0x38C;
  if (c == 0x3C2) return 0x3A3;  // final sigma
  if (c == 0xFF) return 0x178;
  if (c == 0xB5) return 0x39C;  // micro sign
  return c;
}

bool is_lower(char32_t c) { return to_upper(c) != c || c == 0xDF; }
bool is_upper(char32_t c) { return to_lower(c) != c; }
bool is_cased(char32_t c) { return is_lower(c) || is_upper(c); }

// Lower case of cps[k] with Python's final-sigma rule applied in its context.
char32_t lower_in_context(const std::vector<char32_t>& cps, std::size_t k) {
  if (cps[k] != 0x3A3) return to_lower(cps[k]);
  const bool before = k > 0 && is_cased(cps[k - 1]);
  const bool after = k + 1 < cps.size() && is_cased(cps[k + 1]);
  return before && !after ? 0x3C2 : 0x3C3;
}

std::string map_chars(const std::vector<char32_t>& cps, std::size_t from, bool upper) {
  std::string out;
  for (std::size_t k = from; k < cps.size(); ++k) {
    const char32_t c = cps[k];
    if (upper && c == 0xDF) {
      out += "SS";
    } else if (!upper) {
      encode(out, lower_in_context(cps, k));
    } else {
      encode(out, upper ? to_upper(c) : to_lower(c));
    }
  }
  return out;
}

}  // namespace

std::string py_lower(std::string_view s) { return map_chars(decode(s), 0, false); }
std::string py_upper(std::string_view s) { return map_chars(decode(s), 0, true); }

std::string py_capitalize(std::string_view s) {
  const auto cps = decode(s);
  if (cps.empty()) return {};
  std::string out = map_chars({cps[0]}, 0, true);
  return out + map_chars(cps, 1, false);
}

std::string py_title(std::string_view s) {
  const auto cps = decode(s);
  std::string out;
  bool prev_cased = false;
  for (std::size_t k = 0; k < cps.size(); ++k) {
    encode(out, prev_cased ? lower_in_context(cps, k) : to_upper(cps[k]));
    prev_cased = is_cased(cps[k]);
  }
  return out;
}

std::string jinja_title(std::string_view s) {
  // jinja2's do_title: words split at runs of [-\s({[<]; each word's first character upper, the rest lower.
  const auto cps = decode(s);
  std::string out;
  bool word_start = true;
  for (std::size_t k = 0; k < cps.size(); ++k) {
    const char32_t c = cps[k];
    const bool sep = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || c == ' ' || (c >= 0x09 && c <= 0x0D) ||
                     (c >= 0x1C && c <= 0x1F) || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
                     c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
    if (sep) {
      encode(out, c);
      word_start = true;
    } else {
      encode(out, word_start ? to_upper(c) : lower_in_context(cps, k));
      word_start = false;
    }
  }
  return out;
}

bool py_is_cased(std::string_view s, bool upper) {
  bool any = false;
  for (char32_t c : decode(s)) {
    if (upper ? is_lower(c) : is_upper(c)) return false;
    any = any || is_cased(c);
  }
  return any;
}

}  // namespace cnai::text::jinja
