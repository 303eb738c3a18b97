// Methods templates call on values: str (strip, split, startswith, ...),
// dict (items, keys, values, get) and list (index, count). Mutating methods
// are absent, as in jinja2's ImmutableSandboxedEnvironment.
#include <algorithm>
#include <stdexcept>

#include "text/jinja/formatting.hpp"
#include "text/jinja/interpreter.hpp"
#include "text/jinja/unicode_case.hpp"

namespace cnai::text::jinja {
namespace {

std::string ascii_lower(std::string_view s) { return py_lower(s); }
std::string ascii_upper(std::string_view s) { return py_upper(s); }

const std::string& str_arg(const CallArgs& args, std::size_t i, std::string_view name, const char* method) {
  const Value* v = find_arg(args, i, name);
  if (v == nullptr) throw std::invalid_argument(std::string(method) + "() missing required argument '" + std::string(name) + "'");
  if (!v->is_string()) throw std::invalid_argument(std::string(method) + "() argument must be str, not " + std::string(type_name(*v)));
  return v->s;
}

List split_whitespace(const std::string& s, std::int64_t maxsplit) {
  List out;
  const auto chars = utf8_chars(s);
  std::size_t k = 0;
  while (k < chars.size()) {
    while (k < chars.size() && is_py_space(chars[k])) ++k;
    if (k == chars.size()) break;
    if (maxsplit >= 0 && static_cast<std::int64_t>(out.size()) == maxsplit) {
      const auto start = static_cast<std::size_t>(chars[k].data() - s.data());
      out.push_back(Value::string(py_strip(std::string_view(s).substr(start), false, true)));
      break;
    }
    const std::size_t b = k;
    while (k < chars.size() && !is_py_space(chars[k])) ++k;
    const auto start = static_cast<std::size_t>(chars[b].data() - s.data());
    const auto end = static_cast<std::size_t>(chars[k - 1].data() + chars[k - 1].size() - s.data());
    out.push_back(Value::string(s.substr(start, end - start)));
  }
  return out;
}

Value split(const std::string& s, const CallArgs& args) {
  const Value sep = arg_or(args, 0, "sep", Value::none());
  const Value maxv = arg_or(args, 1, "maxsplit", Value::integer(-1));
  const std::int64_t maxsplit = maxv.as_int();
  if (sep.is_none()) return Value::make_list(split_whitespace(s, maxsplit));
  if (!sep.is_string()) throw std::invalid_argument("must be str or None, not " + std::string(type_name(sep)));
  if (sep.s.empty()) throw std::invalid_argument("empty separator");
  List out;
  std::size_t pos = 0;
  while (true) {
    const auto hit = s.find(sep.s, pos);
    if (hit == std::string::npos || (maxsplit >= 0 && static_cast<std::int64_t>(out.size()) == maxsplit)) break;
    out.push_back(Value::string(s.substr(pos, hit - pos)));
    pos = hit + sep.s.size();
  }
  out.push_back(Value::string(s.substr(pos)));
  return Value::make_list(std::move(out));
}

bool affix_matches(const std::string& s, const Value& affix, bool prefix) {
  auto one = [&](const Value& a) {
    if (!a.is_string()) throw std::invalid_argument("startswith/endswith argument must be str or a tuple of str");
    if (a.s.size() > s.size()) return false;
    return prefix ? s.compare(0, a.s.size(), a.s) == 0 : s.compare(s.size() - a.s.size(), a.s.size(), a.s) == 0;
  };
  if (affix.kind == Kind::tuple) {
    return std::any_of(affix.list->begin(), affix.list->end(), one);
  }
  return one(affix);
}

Value replace(const std::string& s, const CallArgs& args) {
  const std::string& old = str_arg(args, 0, "old", "replace");
  const std::string& repl = str_arg(args, 1, "new", "replace");
  std::int64_t count = arg_or(args, 2, "count", Value::integer(-1)).as_int();
  std::string out;
  if (old.empty()) {
    // Python inserts `repl` around every character.
    const auto chars = utf8_chars(s);
    for (std::size_t k = 0; k <= chars.size(); ++k) {
      if (count < 0 || static_cast<std::int64_t>(k) < count) out += repl;
      if (k < chars.size()) out += chars[k];
      check_value_size(out.size());
    }
    return Value::string(std::move(out));
  }
  std::size_t pos = 0;
  while (count != 0) {
    const auto hit = s.find(old, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out += repl;
    check_value_size(out.size());
    pos = hit + old.size();
    if (count > 0) --count;
  }
  out.append(s, pos, std::string::npos);
  return Value::string(std::move(out));
}

Value call_str_method(const Value& self, const std::string& name, const CallArgs& args) {
  const std::string& s = self.s;
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const Value chars = arg_or(args, 0, "chars", Value::none());
    const bool has = !chars.is_none();
    if (has && !chars.is_string()) throw std::invalid_argument(name + " arg must be None or str");
    return Value::string(py_strip(s, name != "rstrip", name != "lstrip", has ? chars.s : "", has));
  }
  if (name == "split") return split(s, args);
  if (name == "startswith" || name == "endswith") {
    const Value* a = find_arg(args, 0, "prefix");
    if (a == nullptr) throw std::invalid_argument(name + "() takes at least 1 argument (0 given)");
    return Value::boolean(affix_matches(s, *a, name == "startswith"));
  }
  if (name == "lower") return Value::string(ascii_lower(s));
  if (name == "upper") return Value::string(ascii_upper(s));
  if (name == "title") return Value::string(py_title(s));
  if (name == "capitalize") return Value::string(py_capitalize(s));
  if (name == "replace") return replace(s, args);
  if (name == "find" || name == "rfind" || name == "count" || name == "index") {
    const std::string& sub = str_arg(args, 0, "sub", name.c_str());
    if (name == "count") {
      if (sub.empty()) return Value::integer(static_cast<std::int64_t>(utf8_length(s)) + 1);
      std::int64_t n = 0;
      for (auto p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value::integer(n);
    }
    const auto hit = name == "rfind" ? s.rfind(sub) : s.find(sub);
    if (hit == std::string::npos) {
      if (name == "index") throw std::invalid_argument("substring not found");
      return Value::integer(-1);
    }
    return Value::integer(static_cast<std::int64_t>(utf8_length(std::string_view(s).substr(0, hit))));
  }
  if (name == "join") {
    const Value* it = find_arg(args, 0, "iterable");
    if (it == nullptr) throw std::invalid_argument("join() takes exactly one argument (0 given)");
    std::string out;
    bool first = true;
    for (const auto& v : iterate(*it)) {
      if (!v.is_string()) throw std::invalid_argument("sequence item: expected str instance, " + std::string(type_name(v)) + " found");
      if (!first) out += s;
      first = false;
      out += v.s;
      check_value_size(out.size());
    }
    return Value::string(std::move(out));
  }
  if (name == "isdigit" || name == "isalpha" || name == "isspace" || name == "isalnum") {
    if (s.empty()) return Value::boolean(false);
    for (auto ch : utf8_chars(s)) {
      const auto c = static_cast<unsigned char>(ch[0]);
      const bool ok = name == "isspace" ? is_py_space(ch)
                      : ch.size() != 1 ? false
                      : name == "isdigit" ? std::isdigit(c) != 0
                      : name == "isalpha" ? std::isalpha(c) != 0
                                          : std::isalnum(c) != 0;
      if (!ok) return Value::boolean(false);
    }
    return Value::boolean(true);
  }
  if (name == "format") return Value::string(brace_format(s, args.positional, args.named));
  if (name == "splitlines") {
    List out;
    std::size_t pos = 0;
    while (pos < s.size()) {
      auto nl = s.find_first_of("\r\n", pos);
      if (nl == std::string::npos) {
        out.push_back(Value::string(s.substr(pos)));
        break;
      }
      out.push_back(Value::string(s.substr(pos, nl - pos)));
      pos = nl + ((s[nl] == '\r' && nl + 1 < s.size() && s[nl + 1] == '\n') ? 2 : 1);
    }
    return Value::make_list(std::move(out));
  }
  throw std::invalid_argument("'str' object has no method '" + name + "'");
}

Value call_dict_method(const Value& self, const std::string& name, const CallArgs& args) {
  const Dict& d = *self.dict;
  if (name == "items" || name == "keys" || name == "values") {
    List out;
    for (const auto& [k, v] : d.entries) {
      if (name == "items") out.push_back(Value::make_tuple({k, v}));
      else if (name == "keys") out.push_back(k);
      else out.push_back(v);
    }
    return Value::make_list(std::move(out));
  }
  if (name == "get") {
    const Value* key = find_arg(args, 0, "key");
    if (key == nullptr) throw std::invalid_argument("get expected at least 1 argument, got 0");
    if (const Value* v = d.find(*key)) return *v;
    return arg_or(args, 1, "default", Value::none());
  }
  throw std::invalid_argument("'dict' object has no method '" + name + "'");
}

Value call_list_method(const Value& self, const std::string& name, const CallArgs& args) {
  const Value* x = find_arg(args, 0, "value");
  if (x == nullptr) throw std::invalid_argument(name + "() takes exactly one argument (0 given)");
  std::int64_t n = 0, k = 0;
  for (const auto& v : *self.list) {
    if (equals(v, *x)) {
      if (name == "index") return Value::integer(k);
      ++n;
    }
    ++k;
  }
  if (name == "index") throw std::invalid_argument(to_repr(*x) + " is not in list");
  return Value::integer(n);
}

bool is_method(Kind kind, const std::string& name) {
  static const char* const str_methods[] = {"strip", "lstrip", "rstrip", "split", "startswith", "endswith", "lower",
                                            "upper", "title", "capitalize", "replace", "find", "rfind", "count",
                                            "index", "join", "isdigit", "isalpha", "isspace", "isalnum", "splitlines", "format"};
  static const char* const dict_methods[] = {"items", "keys", "values", "get"};
  static const char* const list_methods[] = {"index", "count"};
  auto in = [&](const auto& names) {
    return std::any_of(std::begin(names), std::end(names), [&](const char* n) { return name == n; });
  };
  switch (kind) {
    case Kind::string: return in(str_methods);
    case Kind::dict: return in(dict_methods);
    case Kind::list:
    case Kind::tuple: return in(list_methods);
    default: return false;
  }
}

}  // namespace

Value bound_method(const Value& obj, const std::string& name) {
  if (!is_method(obj.kind, name)) return Value::undefined();
  return Value::function([obj, name](Interpreter&, CallArgs& args) {
    if (obj.is_string()) return call_str_method(obj, name, args);
    if (obj.is_dict()) return call_dict_method(obj, name, args);
    return call_list_method(obj, name, args);
  });
}

}  // namespace cnai::text::jinja
