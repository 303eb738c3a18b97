// printf-style and str.format string formatting with Python's rules for the
// conversions chat templates use; anything unsupported is an error.
#include "text/jinja/formatting.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace cnai::text::jinja {
namespace {

// snprintf into a buffer of the size it needs.
template <typename T>
std::string c_format(const std::string& spec, T value) {
  const int n = std::snprintf(nullptr, 0, spec.c_str(), value);
  if (n < 0) throw std::invalid_argument("bad format '" + spec + "'");
  std::string out(static_cast<std::size_t>(n) + 1, '\0');
  std::snprintf(out.data(), out.size(), spec.c_str(), value);
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string convert_one(char conv, const std::string& flags, int width, int precision, const Value& v) {
  std::string spec = "%";
  spec.append(flags);
  if (width >= 0) spec.append(std::to_string(width));
  if (precision >= 0) spec.append(".").append(std::to_string(precision));
  switch (conv) {
    case 's':
    case 'r': {
      std::string s = conv == 's' ? to_str(v) : to_repr(v);
      if (precision >= 0 && static_cast<std::size_t>(precision) < s.size()) s.resize(static_cast<std::size_t>(precision));
      const bool left = flags.find('-') != std::string::npos;
      const auto len = static_cast<int>(utf8_length(s));
      if (width > len) s = left ? s + std::string(static_cast<std::size_t>(width - len), ' ') : std::string(static_cast<std::size_t>(width - len), ' ') + s;
      return s;
    }
    case 'd':
    case 'i':
    case 'x':
    case 'X':
    case 'o': {
      if (!v.is_number()) throw std::invalid_argument(std::string("%") + conv + " format: a real number is required, not " + std::string(type_name(v)));
      const long long n = v.kind == Kind::floating ? static_cast<long long>(std::trunc(v.f)) : v.as_int();
      return c_format(spec + "ll" + (conv == 'i' ? 'd' : conv), n);
    }
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G': {
      if (!v.is_number()) throw std::invalid_argument(std::string("must be real number, not ") + std::string(type_name(v)));
      return c_format(spec + conv, v.as_double());
    }
    case 'c':
      if (v.is_string() && utf8_length(v.s) == 1) return v.s;
      throw std::invalid_argument("%c requires a single character");
    default: throw std::invalid_argument(std::string("unsupported format character '") + conv + "'");
  }
}

}  // namespace

std::string percent_format(const std::string& fmt, const Value& args) {
  const List items = args.kind == Kind::tuple ? *args.list : List{args};
  std::size_t next = 0;
  std::string out;
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (++i >= fmt.size()) throw std::invalid_argument("incomplete format");
    if (fmt[i] == '%') {
      out += '%';
      continue;
    }
    const Value* value = nullptr;
    if (fmt[i] == '(') {
      const auto close = fmt.find(')', i);
      if (close == std::string::npos) throw std::invalid_argument("incomplete format key");
      if (!args.is_dict()) throw std::invalid_argument("format requires a mapping");
      value = args.dict->find(fmt.substr(i + 1, close - i - 1));
      if (value == nullptr) throw std::invalid_argument("format key '" + fmt.substr(i + 1, close - i - 1) + "' missing");
      i = close + 1;
    }
    std::string flags;
    while (i < fmt.size() && std::string_view("-+ #0").find(fmt[i]) != std::string_view::npos) flags += fmt[i++];
    int width = -1, precision = -1;
    while (i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i]))) width = std::max(width, 0) * 10 + (fmt[i++] - '0');
    if (i < fmt.size() && fmt[i] == '.') {
      precision = 0;
      ++i;
      while (i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i]))) precision = precision * 10 + (fmt[i++] - '0');
    }
    if (i >= fmt.size()) throw std::invalid_argument("incomplete format");
    if (width > 4096 || precision > 4096) throw std::invalid_argument("format width or precision too large");
    if (value == nullptr) {
      if (next >= items.size()) throw std::invalid_argument("not enough arguments for format string");
      value = &items[next++];
    }
    out += convert_one(fmt[i], flags, width, precision, *value);
  }
  if (args.kind == Kind::tuple && next < items.size()) throw std::invalid_argument("not all arguments converted during string formatting");
  return out;
}

std::string brace_format(const std::string& fmt, const List& positional,
                         const std::vector<std::pair<std::string, Value>>& named) {
  std::string out;
  std::size_t auto_index = 0;
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if ((c == '{' || c == '}') && i + 1 < fmt.size() && fmt[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c == '}') throw std::invalid_argument("Single '}' encountered in format string");
    if (c != '{') {
      out += c;
      continue;
    }
    const auto close = fmt.find('}', i);
    if (close == std::string::npos) throw std::invalid_argument("Single '{' encountered in format string");
    const std::string field = fmt.substr(i + 1, close - i - 1);
    i = close;
    if (field.find_first_of(":!.[") != std::string::npos) throw std::invalid_argument("format specs are not supported");
    if (field.empty() || std::isdigit(static_cast<unsigned char>(field[0]))) {
      const std::size_t idx = field.empty() ? auto_index++ : static_cast<std::size_t>(std::stoul(field));
      if (idx >= positional.size()) throw std::invalid_argument("Replacement index " + std::to_string(idx) + " out of range");
      out += to_str(positional[idx]);
      continue;
    }
    const Value* v = nullptr;
    for (const auto& [k, x] : named) {
      if (k == field) v = &x;
    }
    if (v == nullptr) throw std::invalid_argument("format key '" + field + "' missing");
    out += to_str(*v);
  }
  return out;
}

}  // namespace cnai::text::jinja
