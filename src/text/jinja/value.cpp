// Python semantics of template values: str/repr, truthiness, ==, ordering, JSON.
#include "text/jinja/value.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace cnai::text::jinja {

Value Value::undefined(std::string hint) {
  Value v;
  v.s = std::move(hint);
  return v;
}
Value Value::none() {
  Value v;
  v.kind = Kind::none;
  return v;
}
Value Value::boolean(bool x) {
  Value v;
  v.kind = Kind::boolean;
  v.b = x;
  return v;
}
Value Value::integer(std::int64_t x) {
  Value v;
  v.kind = Kind::integer;
  v.i = x;
  return v;
}
Value Value::floating(double x) {
  Value v;
  v.kind = Kind::floating;
  v.f = x;
  return v;
}
Value Value::string(std::string x, bool markup) {
  Value v;
  v.kind = Kind::string;
  v.s = std::move(x);
  v.markup = markup;
  return v;
}
Value Value::make_list(List items) {
  Value v;
  v.kind = Kind::list;
  v.list = std::make_shared<const List>(std::move(items));
  return v;
}
Value Value::make_tuple(List items) {
  Value v = make_list(std::move(items));
  v.kind = Kind::tuple;
  return v;
}
Value Value::make_generator(List items) {
  Value v = make_list(std::move(items));
  v.lazy = true;
  return v;
}
Value Value::make_dict(Dict d) {
  Value v;
  v.kind = Kind::dict;
  v.dict = std::make_shared<Dict>(std::move(d));
  return v;
}
Value Value::make_namespace(Dict d) {
  Value v = make_dict(std::move(d));
  v.kind = Kind::ns;
  return v;
}
Value Value::function(NativeFn f) {
  Value v;
  v.kind = Kind::callable;
  v.fn = std::make_shared<const NativeFn>(std::move(f));
  return v;
}

void require_hashable(const Value& key) {
  switch (key.kind) {
    case Kind::list:
    case Kind::dict:
    case Kind::ns: throw std::invalid_argument("unhashable type: '" + std::string(type_name(key)) + "'");
    case Kind::tuple:
      for (const auto& item : *key.list) require_hashable(item);
      return;
    default: return;
  }
}

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k.kind == Kind::string && k.s == key) return &v;
  }
  return nullptr;
}

const Value* Dict::find(const Value& key) const {
  if (key.kind == Kind::string) return find(std::string_view(key.s));
  require_hashable(key);
  for (const auto& [k, v] : entries) {
    if (equals(k, key)) return &v;
  }
  return nullptr;
}

void Dict::set(std::string key, Value v) { set(Value::string(std::move(key)), std::move(v)); }

void Dict::set(Value key, Value v) {
  require_hashable(key);
  for (auto& [k, old] : entries) {
    if (equals(k, key)) {
      old = std::move(v);  // Python keeps the first key: {1: a, True: b} is {1: b}
      return;
    }
  }
  entries.emplace_back(std::move(key), std::move(v));
}

std::string_view type_name(const Value& v) {
  switch (v.kind) {
    case Kind::undefined: return "Undefined";
    case Kind::none: return "NoneType";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::floating: return "float";
    case Kind::string: return "str";
    case Kind::list: return v.lazy ? "generator" : "list";
    case Kind::tuple: return "tuple";
    case Kind::dict: return "dict";
    case Kind::ns: return "Namespace";
    case Kind::callable: return "function";
  }
  return "object";
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case Kind::undefined:
    case Kind::none: return false;
    case Kind::boolean: return v.b;
    case Kind::integer: return v.i != 0;
    case Kind::floating: return v.f != 0.0;
    case Kind::string: return !v.s.empty();
    case Kind::list:
    case Kind::tuple: return v.lazy || !v.list->empty();
    case Kind::dict: return !v.dict->entries.empty();
    case Kind::ns:
    case Kind::callable: return true;
  }
  return false;
}

std::string float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  // sci looks like "-1.2345e+17": split sign, digits and exponent.
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const auto epos = sci.find('e');
  const int exp = std::stoi(sci.substr(epos + 1));
  std::string digits;
  for (char c : sci.substr(0, epos)) {
    if (c != '.') digits += c;
  }
  if (exp < -4 || exp >= 16) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    return out + e;
  }
  if (exp < 0) return sign + "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
  const auto int_len = static_cast<std::size_t>(exp) + 1;
  if (digits.size() <= int_len) return sign + digits + std::string(int_len - digits.size(), '0') + ".0";
  return sign + digits.substr(0, int_len) + "." + digits.substr(int_len);
}

namespace {

std::string repr_string(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    char buf[8];
    if (c == '\\') out += "\\\\";
    else if (c == static_cast<unsigned char>(quote)) (out += '\\') += quote;
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0xA0) {
      // U+0080..U+00A0 are not printable in Python.
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(s[i + 1]));
      out += buf;
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
  return out;
}

// Decodes the UTF-8 character at s[i] (advancing i); stray bytes decode as themselves.
char32_t decode_utf8(std::string_view s, std::size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
  if (len == 1 || i + static_cast<std::size_t>(len) > s.size()) {
    ++i;
    return c;
  }
  char32_t cp = c & (0x7F >> len);
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]) & 0x3F);
  i += static_cast<std::size_t>(len);
  return cp;
}

void append_json_string(std::string& out, std::string_view s, bool ensure_ascii) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    if (ensure_ascii && static_cast<unsigned char>(s[i]) >= 0x80) {
      char32_t cp = decode_utf8(s, i);
      char buf[16];
      if (cp >= 0x10000) {
        cp -= 0x10000;
        std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
      } else {
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
      }
      out += buf;
      continue;
    }
    const char ch = s[i++];
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

// json.dumps turns non-string keys into strings: 1 -> "1", True -> "true",
// None -> "null", 1.5 -> "1.5"; other types (tuples) it refuses.
std::string json_key(const Value& k) {
  switch (k.kind) {
    case Kind::string: return k.s;
    case Kind::integer: return std::to_string(k.i);
    case Kind::boolean: return k.b ? "true" : "false";
    case Kind::none: return "null";
    case Kind::floating: return float_repr(k.f);
    default:
      throw std::invalid_argument("keys must be str, int, float, bool or None, not " + std::string(type_name(k)));
  }
}

void append_json(std::string& out, const Value& v, const JsonFormat& fmt, int depth) {
  if (depth > 512) throw std::invalid_argument("value nested too deeply for tojson");
  auto newline = [&](int level) {
    if (fmt.indent < 0) return;
    out += '\n';
    out.append(static_cast<std::size_t>(fmt.indent * level), ' ');
  };
  switch (v.kind) {
    case Kind::none: out += "null"; return;
    case Kind::boolean: out += v.b ? "true" : "false"; return;
    case Kind::integer: out += std::to_string(v.i); return;
    case Kind::floating:
      if (std::isnan(v.f)) out += "NaN";
      else if (std::isinf(v.f)) out += v.f < 0 ? "-Infinity" : "Infinity";
      else out += float_repr(v.f);
      return;
    case Kind::string: append_json_string(out, v.s, fmt.ensure_ascii); return;
    case Kind::list:
    case Kind::tuple: {
      if (v.lazy) throw std::invalid_argument("Object of type generator is not JSON serializable");
      if (v.list->empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const auto& item : *v.list) {
        if (!first) out += fmt.item_sep;
        first = false;
        newline(depth + 1);
        append_json(out, item, fmt, depth + 1);
      }
      newline(depth);
      out += ']';
      return;
    }
    case Kind::dict: {
      if (v.dict->entries.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<Value, Value>*> items;
      for (const auto& e : v.dict->entries) items.push_back(&e);
      if (fmt.sort_keys) {  // Python sorts the keys themselves: mixed str and int keys cannot be sorted
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return compare(a->first, b->first) < 0; });
      }
      out += '{';
      bool first = true;
      for (const auto* e : items) {
        if (!first) out += fmt.item_sep;
        first = false;
        newline(depth + 1);
        append_json_string(out, json_key(e->first), fmt.ensure_ascii);
        out += fmt.key_sep;
        append_json(out, e->second, fmt, depth + 1);
      }
      newline(depth);
      out += '}';
      return;
    }
    default: throw std::invalid_argument("Object of type " + std::string(type_name(v)) + " is not JSON serializable");
  }
}

std::string repr_sequence(const List& items, char open, char close, bool tuple) {
  std::string out(1, open);
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (k > 0) out += ", ";
    out += to_repr(items[k]);
  }
  if (tuple && items.size() == 1) out += ',';
  out += close;
  return out;
}

std::string repr_dict(const Dict& d) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : d.entries) {
    if (!first) out += ", ";
    first = false;
    out += to_repr(k) + ": " + to_repr(v);
  }
  return out + "}";
}

}  // namespace

std::string to_str(const Value& v) {
  switch (v.kind) {
    case Kind::undefined: return "";
    case Kind::none: return "None";
    case Kind::boolean: return v.b ? "True" : "False";
    case Kind::integer: return std::to_string(v.i);
    case Kind::floating: return float_repr(v.f);
    case Kind::string: return v.s;
    case Kind::list: return v.lazy ? "<generator object>" : repr_sequence(*v.list, '[', ']', false);
    case Kind::tuple: return repr_sequence(*v.list, '(', ')', true);
    case Kind::dict: return repr_dict(*v.dict);
    case Kind::ns: return "<Namespace " + repr_dict(*v.dict) + ">";
    case Kind::callable: return "<function>";
  }
  return "";
}

std::string to_repr(const Value& v) {
  if (v.kind == Kind::string) return v.markup ? "Markup(" + repr_string(v.s) + ")" : repr_string(v.s);
  if (v.kind == Kind::undefined) return "Undefined";
  return to_str(v);
}

bool equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return a.as_int() == b.as_int();
    return a.as_double() == b.as_double();
  }
  if (a.kind != b.kind || a.lazy || b.lazy) return false;
  switch (a.kind) {
    case Kind::undefined:
    case Kind::none: return true;
    case Kind::string: return a.s == b.s;
    case Kind::list:
    case Kind::tuple: {
      if (a.list->size() != b.list->size()) return false;
      for (std::size_t k = 0; k < a.list->size(); ++k) {
        if (!equals((*a.list)[k], (*b.list)[k])) return false;
      }
      return true;
    }
    case Kind::dict: {
      if (a.dict->entries.size() != b.dict->entries.size()) return false;
      for (const auto& [k, v] : a.dict->entries) {
        const Value* other = b.dict->find(k);  // the Value overload: 1 finds 1.0
        if (other == nullptr || !equals(v, *other)) return false;
      }
      return true;
    }
    case Kind::ns: return a.dict == b.dict;
    case Kind::callable: return a.fn == b.fn;
    default: return false;
  }
}

int compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
    const double x = a.as_double(), y = b.as_double();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
  if (a.is_sequence() && a.kind == b.kind) {
    const auto n = std::min(a.list->size(), b.list->size());
    for (std::size_t k = 0; k < n; ++k) {
      if (!equals((*a.list)[k], (*b.list)[k])) return compare((*a.list)[k], (*b.list)[k]);
    }
    return a.list->size() < b.list->size() ? -1 : a.list->size() > b.list->size() ? 1 : 0;
  }
  throw std::invalid_argument("'<' not supported between instances of '" + std::string(type_name(a)) + "' and '" +
                              std::string(type_name(b)) + "'");
}

std::string to_json(const Value& v, const JsonFormat& format) {
  std::string out;
  append_json(out, v, format, 0);
  return out;
}

List iterate(const Value& v) {
  switch (v.kind) {
    case Kind::undefined: return {};
    case Kind::list:
    case Kind::tuple: return *v.list;
    case Kind::dict: {
      List keys;
      for (const auto& e : v.dict->entries) keys.push_back(e.first);
      return keys;
    }
    case Kind::string: {
      List chars;
      for (auto ch : utf8_chars(v.s)) chars.push_back(Value::string(std::string(ch)));
      return chars;
    }
    default: throw std::invalid_argument("'" + std::string(type_name(v)) + "' object is not iterable");
  }
}

namespace {
// Byte length of the UTF-8 character starting at s[i] (1 for stray bytes).
std::size_t char_len(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const std::size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
  return std::min(len, s.size() - i);
}
// Start of the character that ends at byte `end` (exclusive).
std::size_t prev_start(std::string_view s, std::size_t end) {
  std::size_t b = end - 1;
  while (b > 0 && end - b < 4 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
  return b + char_len(s, b) == end ? b : end - 1;
}
}  // namespace

std::vector<std::string_view> utf8_chars(std::string_view s) {
  std::vector<std::string_view> out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = char_len(s, i);
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

bool is_py_space(std::string_view ch) {
  if (ch.size() == 1) {
    const auto c = static_cast<unsigned char>(ch[0]);
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  }
  static const char* const wide[] = {"\u0085", "\u00a0", "\u1680", "\u2000", "\u2001", "\u2002", "\u2003",
                                     "\u2004", "\u2005", "\u2006", "\u2007", "\u2008", "\u2009", "\u200a",
                                     "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"};
  return std::any_of(std::begin(wide), std::end(wide), [&](const char* w) { return ch == w; });
}

std::string py_strip(std::string_view s, bool left, bool right, std::string_view chars, bool has_chars) {
  auto strip_it = [&](std::string_view ch) {
    if (!has_chars) return is_py_space(ch);
    for (std::size_t i = 0; i < chars.size();) {
      const std::size_t len = char_len(chars, i);
      if (chars.substr(i, len) == ch) return true;
      i += len;
    }
    return false;
  };
  std::size_t b = 0, e = s.size();
  while (left && b < e) {
    const std::size_t len = char_len(s, b);
    if (!strip_it(s.substr(b, len))) break;
    b += len;
  }
  while (right && e > b) {
    const std::size_t start = std::max(prev_start(s, e), b);
    if (!strip_it(s.substr(start, e - start))) break;
    e = start;
  }
  return std::string(s.substr(b, e - b));
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace cnai::text::jinja
