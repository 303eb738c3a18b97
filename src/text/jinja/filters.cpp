// Jinja filters (`value | name(args)`) with jinja2's semantics, plus the
// `tojson` filter as Hugging Face overrides it (ensure_ascii=False).
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <unordered_map>

#include "text/jinja/formatting.hpp"
#include "text/jinja/interpreter.hpp"
#include "text/jinja/unicode_case.hpp"

namespace cnai::text::jinja {
namespace {

std::string lower_ascii(std::string_view s) { return py_lower(s); }
std::string upper_ascii(std::string_view s) { return py_upper(s); }

std::int64_t length_of(const Value& v) {
  switch (v.kind) {
    case Kind::undefined: return 0;
    case Kind::string: return static_cast<std::int64_t>(utf8_length(v.s));
    case Kind::list:
    case Kind::tuple:
      if (v.lazy) throw std::invalid_argument("object of type 'generator' has no len()");
      return static_cast<std::int64_t>(v.list->size());
    case Kind::dict: return static_cast<std::int64_t>(v.dict->entries.size());
    default: throw std::invalid_argument("object of type '" + std::string(type_name(v)) + "' has no len()");
  }
}

// jinja2's make_attrgetter: "a.b.0" looked up with getitem semantics.
Value get_path(const Value& item, const std::string& path) {
  Value cur = item;
  std::size_t start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    cur = get_item(cur, digits ? Value::integer(std::stoll(part)) : Value::string(part));
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

Value attribute_arg(const CallArgs& args, std::size_t index) {
  return arg_or(args, index, "attribute", Value::none());
}

Value do_tojson(const Value& v, const CallArgs& args) {
  // HF's signature: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
  JsonFormat fmt;
  fmt.ensure_ascii = truthy(arg_or(args, 0, "ensure_ascii", Value::boolean(false)));
  const Value indent = arg_or(args, 1, "indent", Value::none());
  if (indent.is_integral()) {
    fmt.indent = static_cast<int>(std::clamp<std::int64_t>(indent.as_int(), 0, 64));
    fmt.item_sep = ",";
  } else if (!indent.is_none()) {
    throw std::invalid_argument("tojson indent must be an integer or None");
  }
  const Value seps = arg_or(args, 2, "separators", Value::none());
  if (seps.is_sequence() && seps.list->size() == 2 && (*seps.list)[0].is_string() && (*seps.list)[1].is_string()) {
    fmt.item_sep = (*seps.list)[0].s;
    fmt.key_sep = (*seps.list)[1].s;
  } else if (!seps.is_none()) {
    throw std::invalid_argument("tojson separators must be a pair of strings");
  }
  fmt.sort_keys = truthy(arg_or(args, 3, "sort_keys", Value::boolean(false)));
  std::string out = to_json(v, fmt);
  check_value_size(out.size());
  return Value::string(std::move(out));
}

// jinja2's do_indent (note it appends "\n" before splitting lines, like jinja2 does).
Value do_indent(const Value& v, const CallArgs& args) {
  const Value width = arg_or(args, 0, "width", Value::integer(4));
  const bool first = truthy(arg_or(args, 1, "first", Value::boolean(false)));
  const bool blank = truthy(arg_or(args, 2, "blank", Value::boolean(false)));
  std::string pad;
  if (width.is_string()) pad = width.s;
  else pad.assign(static_cast<std::size_t>(std::clamp<std::int64_t>(width.as_int(), 0, 1024)), ' ');
  require_defined(v);
  if (!v.is_string()) {
    throw std::invalid_argument("unsupported operand type(s) for +=: '" + std::string(type_name(v)) + "' and 'str'");
  }
  const std::string s = v.s + "\n";
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const auto nl = s.find_first_of("\r\n\v\f\x1c\x1d\x1e", pos);
    if (nl == std::string::npos) {
      lines.push_back(s.substr(pos));
      break;
    }
    lines.push_back(s.substr(pos, nl - pos));
    pos = nl + ((s[nl] == '\r' && nl + 1 < s.size() && s[nl + 1] == '\n') ? 2 : 1);
  }
  std::string out;
  for (std::size_t k = 0; k < lines.size(); ++k) {
    if (k > 0) out += '\n';
    if (k > 0 && (blank || !lines[k].empty())) out += pad;
    out += lines[k];
    check_value_size(out.size());
  }
  if (first) out = pad + out;
  return Value::string(std::move(out), v.markup);
}

Value do_join(const Value& v, const CallArgs& args) {
  const std::string sep = to_str(arg_or(args, 0, "d", Value::string("")));
  const Value attr = attribute_arg(args, 1);
  std::string out;
  bool first = true;
  for (const auto& item : iterate(v)) {
    if (!first) out += sep;
    first = false;
    out += to_str(attr.is_none() ? item : get_path(item, to_str(attr)));
    check_value_size(out.size());
  }
  return Value::string(std::move(out));
}

int sort_compare(const Value& a, const Value& b, bool case_sensitive) {
  if (!case_sensitive && a.is_string() && b.is_string()) return compare(Value::string(lower_ascii(a.s)), Value::string(lower_ascii(b.s)));
  return compare(a, b);
}

Value do_sort(const Value& v, const CallArgs& args) {
  const bool reverse = truthy(arg_or(args, 0, "reverse", Value::boolean(false)));
  const bool cs = truthy(arg_or(args, 1, "case_sensitive", Value::boolean(false)));
  const Value attr = attribute_arg(args, 2);
  List items = iterate(v);
  auto key = [&](const Value& x) { return attr.is_none() ? x : get_path(x, to_str(attr)); };
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    const int c = sort_compare(key(a), key(b), cs);
    return reverse ? c > 0 : c < 0;
  });
  return Value::make_list(std::move(items));
}

Value do_dictsort(const Value& v, const CallArgs& args) {
  if (!v.is_dict()) throw std::invalid_argument("dictsort requires a mapping");
  const bool cs = truthy(arg_or(args, 0, "case_sensitive", Value::boolean(false)));
  const std::string by = to_str(arg_or(args, 1, "by", Value::string("key")));
  const bool reverse = truthy(arg_or(args, 2, "reverse", Value::boolean(false)));
  List items;
  for (const auto& [k, val] : v.dict->entries) items.push_back(Value::make_tuple({k, val}));
  const std::size_t pos = by == "value" ? 1 : 0;
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    const int c = sort_compare((*a.list)[pos], (*b.list)[pos], cs);
    return reverse ? c > 0 : c < 0;
  });
  return Value::make_list(std::move(items));
}

Value do_unique(const Value& v, const CallArgs& args) {
  const bool cs = truthy(arg_or(args, 0, "case_sensitive", Value::boolean(false)));
  const Value attr = attribute_arg(args, 1);
  List out, keys;
  for (const auto& item : iterate(v)) {
    Value key = attr.is_none() ? item : get_path(item, to_str(attr));
    if (!cs && key.is_string()) key = Value::string(lower_ascii(key.s));
    if (std::none_of(keys.begin(), keys.end(), [&](const Value& k) { return equals(k, key); })) {
      keys.push_back(key);
      out.push_back(item);
    }
  }
  return Value::make_generator(std::move(out));
}

Value do_minmax(const Value& v, const CallArgs& args, bool want_max) {
  const bool cs = truthy(arg_or(args, 0, "case_sensitive", Value::boolean(false)));
  const Value attr = attribute_arg(args, 1);
  const List items = iterate(v);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  const Value* best = &items[0];
  for (const auto& item : items) {
    const Value a = attr.is_none() ? item : get_path(item, to_str(attr));
    const Value b = attr.is_none() ? *best : get_path(*best, to_str(attr));
    const int c = sort_compare(a, b, cs);
    if (want_max ? c > 0 : c < 0) best = &item;
  }
  return *best;
}

// select/reject/selectattr/rejectattr.
Value do_select(Interpreter& in, const Value& v, const CallArgs& args, bool by_attr, bool keep) {
  std::size_t next = 0;
  std::string attr;
  if (by_attr) {
    const Value* a = find_arg(args, next++, "attribute");
    if (a == nullptr) throw std::invalid_argument("Missing parameter for attribute name");
    attr = to_str(*a);
  }
  const Value* test = next < args.positional.size() ? &args.positional[next] : nullptr;
  CallArgs test_args;
  for (std::size_t k = next + 1; k < args.positional.size(); ++k) test_args.positional.push_back(args.positional[k]);
  List out;
  if (!truthy(v)) return Value::make_generator({});  // jinja2: `if seq:` before iterating
  for (const auto& item : iterate(v)) {
    const Value subject = by_attr ? get_path(item, attr) : item;
    CallArgs a = test_args;
    const bool ok = test != nullptr ? in.call_test(to_str(*test), subject, a) : truthy(subject);
    if (ok == keep) out.push_back(item);
  }
  return Value::make_generator(std::move(out));
}

Value do_map(Interpreter& in, const Value& v, const CallArgs& args) {
  List out;
  if (!truthy(v)) return Value::make_generator({});  // jinja2: `if value:` before iterating
  const Value* attr = find_arg(args, static_cast<std::size_t>(-1), "attribute");
  if (attr != nullptr) {
    const Value* def = find_arg(args, static_cast<std::size_t>(-1), "default");
    for (const auto& item : iterate(v)) {
      Value x = get_path(item, to_str(*attr));
      out.push_back(x.is_undefined() && def != nullptr ? *def : x);
    }
    return Value::make_generator(std::move(out));
  }
  if (args.positional.empty()) throw std::invalid_argument("map requires a filter name or attribute=");
  const std::string filter = to_str(args.positional[0]);
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.named = args.named;
  for (const auto& item : iterate(v)) {
    CallArgs a = rest;
    out.push_back(in.call_filter(filter, item, a));
  }
  return Value::make_generator(std::move(out));
}

Value do_first_last(const Value& v, bool first) {
  if (v.is_dict()) {
    if (v.dict->entries.empty()) return Value::undefined("No first item, sequence was empty.");
    return first ? v.dict->entries.front().first : v.dict->entries.back().first;
  }
  const List items = iterate(v);
  if (items.empty()) return Value::undefined(first ? "No first item, sequence was empty." : "No last item, sequence was empty.");
  return first ? items.front() : items.back();
}

Value do_int(const Value& v, const CallArgs& args) {
  require_defined(v);
  const Value def = arg_or(args, 0, "default", Value::integer(0));
  if (v.is_integral()) return Value::integer(v.as_int());
  if (v.kind == Kind::floating) return std::isfinite(v.f) && std::fabs(v.f) < 9.2e18 ? Value::integer(static_cast<std::int64_t>(v.f)) : def;
  if (v.is_string()) {
    const std::string t = py_strip(v.s, true, true);
    try {
      std::size_t used = 0;
      const long long x = std::stoll(t, &used, 10);
      if (used == t.size()) return Value::integer(x);
      const double d = std::stod(t, &used);
      if (used == t.size() && std::isfinite(d) && std::fabs(d) < 9.2e18) return Value::integer(static_cast<std::int64_t>(d));
    } catch (const std::logic_error&) {
    }
  }
  return def;
}

Value do_float(const Value& v, const CallArgs& args) {
  require_defined(v);
  const Value def = arg_or(args, 0, "default", Value::floating(0.0));
  if (v.is_number()) return Value::floating(v.as_double());
  if (v.is_string()) {
    const std::string t = py_strip(v.s, true, true);
    try {
      std::size_t used = 0;
      const double d = std::stod(t, &used);
      if (used == t.size()) return Value::floating(d);
    } catch (const std::logic_error&) {
    }
  }
  return def;
}

Value do_round(const Value& v, const CallArgs& args) {
  const std::int64_t precision = arg_or(args, 0, "precision", Value::integer(0)).as_int();
  const std::string method = to_str(arg_or(args, 1, "method", Value::string("common")));
  if (!v.is_number()) throw std::invalid_argument("round requires a number");
  if (v.is_integral() && method == "common") return Value::integer(v.as_int());  // Python round(int, n) is an int
  const double scale = std::pow(10.0, static_cast<double>(std::clamp<std::int64_t>(precision, -300, 300)));
  const double x = v.as_double() * scale;
  double r = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::nearbyint(x);
  return Value::floating(r / scale);
}

Value do_sum(const Value& v, const CallArgs& args) {
  const Value attr = attribute_arg(args, 0);
  Value total = arg_or(args, 1, "start", Value::integer(0));
  for (const auto& item : iterate(v)) total = binary_op("+", total, attr.is_none() ? item : get_path(item, to_str(attr)));
  return total;
}

std::string capitalize(const std::string& s) { return py_capitalize(s); }

std::string title(const std::string& s) { return jinja_title(s); }

}  // namespace

namespace {

Value do_default(const Value& v, const CallArgs& args) {
  const Value def = arg_or(args, 0, "default_value", Value::string(""));
  const bool boolean = truthy(arg_or(args, 1, "boolean", Value::boolean(false)));
  return v.is_undefined() || (boolean && !truthy(v)) ? def : v;
}

Value do_items(const Value& v) {
  if (v.is_undefined()) return Value::make_generator({});
  if (!v.is_dict()) throw std::invalid_argument("Can only get item pairs from a mapping.");
  List out;
  for (const auto& [k, val] : v.dict->entries) out.push_back(Value::make_tuple({k, val}));
  return Value::make_generator(std::move(out));
}

Value do_reverse(const Value& v) {
  if (v.is_string()) {
    auto chars = utf8_chars(v.s);
    std::string out;
    for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
    return Value::string(std::move(out));
  }
  List items = iterate(v);
  std::reverse(items.begin(), items.end());
  return Value::make_generator(std::move(items));
}

Value do_abs(const Value& v) {
  if (!v.is_number()) throw std::invalid_argument("bad operand type for abs(): '" + std::string(type_name(v)) + "'");
  if (v.kind == Kind::floating) return Value::floating(std::fabs(v.f));
  if (v.as_int() == INT64_MIN) throw std::invalid_argument("integer overflow");
  return Value::integer(std::llabs(v.as_int()));
}

Value call_str_method(Interpreter& in, const Value& v, const char* method, CallArgs& args) {
  return (*bound_method(Value::string(to_str(v)), method).fn)(in, args);
}

using FilterFn = Value (*)(Interpreter&, const Value&, CallArgs&);

const std::unordered_map<std::string, FilterFn>& filter_table() {
  static const std::unordered_map<std::string, FilterFn> table = {
      {"default", [](Interpreter&, const Value& v, CallArgs& a) { return do_default(v, a); }},
      {"d", [](Interpreter&, const Value& v, CallArgs& a) { return do_default(v, a); }},
      {"tojson", [](Interpreter&, const Value& v, CallArgs& a) { return do_tojson(v, a); }},
      {"safe", [](Interpreter&, const Value& v, CallArgs&) { return Value::string(to_str(v), true); }},
      {"escape", [](Interpreter&, const Value& v, CallArgs&) { return v.markup ? v : Value::string(html_escape(to_str(v)), true); }},
      {"e", [](Interpreter&, const Value& v, CallArgs&) { return v.markup ? v : Value::string(html_escape(to_str(v)), true); }},
      {"string", [](Interpreter&, const Value& v, CallArgs&) { return v.is_string() ? v : Value::string(to_str(v)); }},
      {"length", [](Interpreter&, const Value& v, CallArgs&) { return Value::integer(length_of(v)); }},
      {"count", [](Interpreter&, const Value& v, CallArgs&) { return Value::integer(length_of(v)); }},
      {"trim", [](Interpreter&, const Value& v, CallArgs& a) {
         const Value chars = arg_or(a, 0, "chars", Value::none());
         return Value::string(py_strip(to_str(v), true, true, chars.is_none() ? "" : to_str(chars), !chars.is_none()));
       }},
      {"lower", [](Interpreter&, const Value& v, CallArgs&) { return Value::string(lower_ascii(to_str(v))); }},
      {"upper", [](Interpreter&, const Value& v, CallArgs&) { return Value::string(upper_ascii(to_str(v))); }},
      {"capitalize", [](Interpreter&, const Value& v, CallArgs&) { return Value::string(capitalize(to_str(v))); }},
      {"title", [](Interpreter&, const Value& v, CallArgs&) { return Value::string(title(to_str(v))); }},
      {"replace", [](Interpreter& in, const Value& v, CallArgs& a) { return call_str_method(in, v, "replace", a); }},
      {"wordcount", [](Interpreter& in, const Value& v, CallArgs&) {
         CallArgs none;
         return Value::integer(static_cast<std::int64_t>(call_str_method(in, v, "split", none).list->size()));
       }},
      {"indent", [](Interpreter&, const Value& v, CallArgs& a) { return do_indent(v, a); }},
      {"join", [](Interpreter&, const Value& v, CallArgs& a) { return do_join(v, a); }},
      {"items", [](Interpreter&, const Value& v, CallArgs&) { return do_items(v); }},
      {"list", [](Interpreter&, const Value& v, CallArgs&) { return Value::make_list(iterate(v)); }},
      {"first", [](Interpreter&, const Value& v, CallArgs&) { return do_first_last(v, true); }},
      {"last", [](Interpreter&, const Value& v, CallArgs&) { return do_first_last(v, false); }},
      {"reverse", [](Interpreter&, const Value& v, CallArgs&) { return do_reverse(v); }},
      {"sort", [](Interpreter&, const Value& v, CallArgs& a) { return do_sort(v, a); }},
      {"dictsort", [](Interpreter&, const Value& v, CallArgs& a) { return do_dictsort(v, a); }},
      {"unique", [](Interpreter&, const Value& v, CallArgs& a) { return do_unique(v, a); }},
      {"min", [](Interpreter&, const Value& v, CallArgs& a) { return do_minmax(v, a, false); }},
      {"max", [](Interpreter&, const Value& v, CallArgs& a) { return do_minmax(v, a, true); }},
      {"select", [](Interpreter& in, const Value& v, CallArgs& a) { return do_select(in, v, a, false, true); }},
      {"reject", [](Interpreter& in, const Value& v, CallArgs& a) { return do_select(in, v, a, false, false); }},
      {"selectattr", [](Interpreter& in, const Value& v, CallArgs& a) { return do_select(in, v, a, true, true); }},
      {"rejectattr", [](Interpreter& in, const Value& v, CallArgs& a) { return do_select(in, v, a, true, false); }},
      {"map", [](Interpreter& in, const Value& v, CallArgs& a) { return do_map(in, v, a); }},
      {"attr", [](Interpreter&, const Value& v, CallArgs& a) { return get_attr(v, to_str(arg_or(a, 0, "name", Value::string("")))); }},
      {"int", [](Interpreter&, const Value& v, CallArgs& a) { return do_int(v, a); }},
      {"float", [](Interpreter&, const Value& v, CallArgs& a) { return do_float(v, a); }},
      {"round", [](Interpreter&, const Value& v, CallArgs& a) { return do_round(v, a); }},
      {"sum", [](Interpreter&, const Value& v, CallArgs& a) { return do_sum(v, a); }},
      {"abs", [](Interpreter&, const Value& v, CallArgs&) { return do_abs(v); }},
      {"format", [](Interpreter&, const Value& v, CallArgs& a) {
         // jinja2: soft_str(value) % (kwargs or args)
         Dict kw;
         for (const auto& [k, x] : a.named) kw.set(k, x);
         const Value args = a.named.empty() ? Value::make_tuple(a.positional) : Value::make_dict(std::move(kw));
         return Value::string(percent_format(to_str(v), args));
       }},
  };
  return table;
}

}  // namespace

Value apply_filter(Interpreter& in, const std::string& name, const Value& v, CallArgs& args) {
  const auto& table = filter_table();
  const auto it = table.find(name);
  if (it == table.end()) throw std::invalid_argument("no filter named '" + name + "'");
  return it->second(in, v, args);
}

}  // namespace cnai::text::jinja
