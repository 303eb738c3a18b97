// Python semantics of attribute/item access, slicing, `in` and arithmetic on
// template values, as jinja2's sandboxed environment applies them.
#include <cmath>
#include <optional>
#include <stdexcept>

#include "text/jinja/formatting.hpp"
#include "text/jinja/interpreter.hpp"

namespace cnai::text::jinja {

void require_defined(const Value& v) {
  if (v.is_undefined()) throw std::invalid_argument(v.s.empty() ? "value is undefined" : v.s);
}

const Value* find_arg(const CallArgs& args, std::size_t index, std::string_view name) {
  if (index < args.positional.size()) return &args.positional[index];
  for (const auto& [k, v] : args.named) {
    if (k == name) return &v;
  }
  return nullptr;
}

Value arg_or(const CallArgs& args, std::size_t index, std::string_view name, Value fallback) {
  const Value* v = find_arg(args, index, name);
  return v != nullptr ? *v : std::move(fallback);
}

namespace {
std::string no_attribute(const Value& obj, const std::string& name) {
  std::string msg = "'";
  msg.append(type_name(obj)).append(" object' has no attribute '").append(name).append("'");
  return msg;
}
}  // namespace

Value get_attr(const Value& obj, const std::string& name) {
  require_defined(obj);
  if (obj.kind == Kind::dict) {
    Value m = bound_method(obj, name);
    if (!m.is_undefined()) return m;
    if (const Value* v = obj.dict->find(name)) return *v;
    return Value::undefined(no_attribute(obj, name));
  }
  if (obj.kind == Kind::ns) {
    if (const Value* v = obj.dict->find(name)) return *v;
    return Value::undefined(no_attribute(obj, name));
  }
  Value m = bound_method(obj, name);
  if (!m.is_undefined()) return m;
  return Value::undefined(no_attribute(obj, name));
}

Value get_item(const Value& obj, const Value& key) {
  require_defined(obj);
  if (obj.lazy) return Value::undefined("'generator' object is not subscriptable");
  if ((obj.is_sequence() || obj.is_string()) && key.is_integral()) {
    std::int64_t idx = key.as_int();
    if (obj.is_string()) {
      const auto chars = utf8_chars(obj.s);
      const auto n = static_cast<std::int64_t>(chars.size());
      if (idx < 0) idx += n;
      if (idx < 0 || idx >= n) return Value::undefined("string index out of range");
      return Value::string(std::string(chars[static_cast<std::size_t>(idx)]));
    }
    const auto n = static_cast<std::int64_t>(obj.list->size());
    if (idx < 0) idx += n;
    if (idx < 0 || idx >= n) return Value::undefined("list index out of range");
    return (*obj.list)[static_cast<std::size_t>(idx)];
  }
  if (obj.kind == Kind::dict && key.is_string()) {
    if (const Value* v = obj.dict->find(key.s)) return *v;
    Value m = bound_method(obj, key.s);
    if (!m.is_undefined()) return m;
    return Value::undefined("'dict object' has no attribute '" + key.s + "'");
  }
  if (obj.kind == Kind::dict) {  // int, float, bool, None and tuple keys
    const Value* v = nullptr;
    try {
      v = obj.dict->find(key);
    } catch (const std::invalid_argument&) {  // unhashable: jinja2 gives Undefined, as for a missing key
    }
    if (v) return *v;
    return Value::undefined("'dict object' has no element " + to_repr(key));
  }
  if (key.is_string()) return get_attr(obj, key.s);
  std::string msg = "'";
  msg.append(type_name(obj)).append(" object' has no attribute ").append(to_repr(key));
  return Value::undefined(std::move(msg));
}

Value slice_value(const Value& obj, const Value& start_v, const Value& stop_v, const Value& step_v) {
  require_defined(obj);
  auto as_index = [](const Value& v, const char* what) -> std::optional<std::int64_t> {
    if (v.is_none() || v.is_undefined()) return std::nullopt;
    if (!v.is_integral()) throw std::invalid_argument(std::string("slice ") + what + " must be an integer or None");
    return v.as_int();
  };
  const auto step_opt = as_index(step_v, "step");
  const std::int64_t step = step_opt.value_or(1);
  if (step == 0) throw std::invalid_argument("slice step cannot be zero");
  std::vector<std::string_view> chars;
  std::int64_t len = 0;
  if (obj.is_string()) {
    chars = utf8_chars(obj.s);
    len = static_cast<std::int64_t>(chars.size());
  } else if (obj.is_sequence() && !obj.lazy) {
    len = static_cast<std::int64_t>(obj.list->size());
  } else {
    // jinja2 compiles slices to plain Python subscripts: no undefined fallback.
    std::string msg = "'";
    msg.append(type_name(obj)).append("' object is not subscriptable");
    throw std::invalid_argument(msg);
  }
  const std::int64_t lower = step < 0 ? -1 : 0, upper = step < 0 ? len - 1 : len;
  auto clamp = [&](std::optional<std::int64_t> v, std::int64_t fallback) {
    if (!v) return fallback;
    std::int64_t x = *v;
    if (x < 0) {
      x += len;
      if (x < lower) x = lower;
    } else if (x > upper) {
      x = upper;
    }
    return x;
  };
  const std::int64_t start = clamp(as_index(start_v, "start"), step < 0 ? upper : lower);
  const std::int64_t stop = clamp(as_index(stop_v, "stop"), step < 0 ? lower : upper);
  if (obj.is_string()) {
    std::string out;
    for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out += chars[static_cast<std::size_t>(i)];
    return Value::string(std::move(out));
  }
  List out;
  for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back((*obj.list)[static_cast<std::size_t>(i)]);
  return obj.kind == Kind::tuple ? Value::make_tuple(std::move(out)) : Value::make_list(std::move(out));
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind) {
    case Kind::undefined: return false;
    case Kind::string:
      if (!item.is_string()) {
        throw std::invalid_argument("'in <string>' requires string as left operand, not " + std::string(type_name(item)));
      }
      return container.s.find(item.s) != std::string::npos;
    case Kind::list:
    case Kind::tuple:
      for (const auto& v : *container.list) {
        if (equals(v, item)) return true;
      }
      return false;
    case Kind::dict:
      return container.dict->find(item) != nullptr;  // throws for an unhashable item
    default:
      throw std::invalid_argument("argument of type '" + std::string(type_name(container)) + "' is not iterable");
  }
}

namespace {

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  throw std::invalid_argument("unsupported operand type(s) for " + op + ": '" + std::string(type_name(a)) + "' and '" +
                              std::string(type_name(b)) + "'");
}

// Runs one __builtin_*_overflow step; throws when it overflowed.
template <typename Op>
std::int64_t checked(Op op, std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (op(a, b, &r)) throw std::invalid_argument("integer overflow");
  return r;
}
bool add_ovf(std::int64_t a, std::int64_t b, std::int64_t* r) { return __builtin_add_overflow(a, b, r); }
bool sub_ovf(std::int64_t a, std::int64_t b, std::int64_t* r) { return __builtin_sub_overflow(a, b, r); }
bool mul_ovf(std::int64_t a, std::int64_t b, std::int64_t* r) { return __builtin_mul_overflow(a, b, r); }

Value repeat(const Value& seq, std::int64_t n) {
  if (n <= 0) return seq.is_string() ? Value::string("") : seq.kind == Kind::tuple ? Value::make_tuple({}) : Value::make_list({});
  const std::size_t unit = seq.is_string() ? seq.s.size() : seq.list->size() * sizeof(Value);
  if (unit != 0 && static_cast<std::uint64_t>(n) > (std::uint64_t{1} << 40) / unit) check_value_size(~std::size_t{0});
  check_value_size(unit * static_cast<std::size_t>(n));
  if (seq.is_string()) {
    std::string out;
    out.reserve(seq.s.size() * static_cast<std::size_t>(n));
    for (std::int64_t k = 0; k < n; ++k) out += seq.s;
    return Value::string(std::move(out), seq.markup);
  }
  List out;
  for (std::int64_t k = 0; k < n; ++k) out.insert(out.end(), seq.list->begin(), seq.list->end());
  return seq.kind == Kind::tuple ? Value::make_tuple(std::move(out)) : Value::make_list(std::move(out));
}

Value add(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) {
      return Value::integer(checked(add_ovf, a.as_int(), b.as_int()));
    }
    return Value::floating(a.as_double() + b.as_double());
  }
  if (a.is_string() && b.is_string()) {
    check_value_size(a.s.size() + b.s.size());
    // jinja2 Markup + str escapes the plain str (and the result stays Markup).
    if (a.markup && !b.markup) return Value::string(a.s + html_escape(b.s), true);
    if (b.markup && !a.markup) return Value::string(html_escape(a.s) + b.s, true);
    return Value::string(a.s + b.s, a.markup);
  }
  if (a.is_sequence() && a.kind == b.kind && !a.lazy && !b.lazy) {
    check_value_size((a.list->size() + b.list->size()) * sizeof(Value));
    List out = *a.list;
    out.insert(out.end(), b.list->begin(), b.list->end());
    return a.kind == Kind::tuple ? Value::make_tuple(std::move(out)) : Value::make_list(std::move(out));
  }
  if (a.is_string()) throw std::invalid_argument("can only concatenate str (not \"" + std::string(type_name(b)) + "\") to str");
  if (a.kind == Kind::list) throw std::invalid_argument("can only concatenate list (not \"" + std::string(type_name(b)) + "\") to list");
  unsupported("+", a, b);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  if (a == INT64_MIN && b == -1) throw std::invalid_argument("integer overflow");
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

Value power(const Value& a, const Value& b) {
  if (a.is_integral() && b.is_integral() && b.as_int() >= 0) {
    std::int64_t base = a.as_int(), exp = b.as_int(), r = 1;
    while (exp > 0) {
      if (exp & 1) r = checked(mul_ovf, r, base);
      exp >>= 1;
      if (exp > 0) base = checked(mul_ovf, base, base);
    }
    return Value::integer(r);
  }
  if (a.as_double() == 0.0 && b.as_double() < 0) throw std::invalid_argument("0.0 cannot be raised to a negative power");
  return Value::floating(std::pow(a.as_double(), b.as_double()));
}

}  // namespace

Value binary_op(const std::string& op, const Value& a, const Value& b) {
  require_defined(a);
  require_defined(b);
  if (op == "+") return add(a, b);
  if (op == "*") {
    if (a.is_number() && b.is_number()) {
      if (a.is_integral() && b.is_integral()) {
        return Value::integer(checked(mul_ovf, a.as_int(), b.as_int()));
      }
      return Value::floating(a.as_double() * b.as_double());
    }
    if ((a.is_string() || a.is_sequence()) && b.is_integral()) return repeat(a, b.as_int());
    if ((b.is_string() || b.is_sequence()) && a.is_integral()) return repeat(b, a.as_int());
    unsupported("*", a, b);
  }
  if (!a.is_number() || !b.is_number()) {
    if (op == "%" && a.is_string()) return Value::string(percent_format(a.s, b));
    unsupported(op, a, b);
  }
  const bool ints = a.is_integral() && b.is_integral();
  if (op == "-") {
    if (ints) {
      return Value::integer(checked(sub_ovf, a.as_int(), b.as_int()));
    }
    return Value::floating(a.as_double() - b.as_double());
  }
  if (op == "**") return power(a, b);
  if (b.as_double() == 0.0) throw std::invalid_argument(ints && op != "/" ? "integer division or modulo by zero" : "division by zero");
  if (op == "/") return Value::floating(a.as_double() / b.as_double());
  if (op == "//") {
    if (ints) return Value::integer(floor_div(a.as_int(), b.as_int()));
    return Value::floating(std::floor(a.as_double() / b.as_double()));
  }
  if (op == "%") {
    if (ints) {
      if (b.as_int() == -1) return Value::integer(0);
      const std::int64_t r = a.as_int() % b.as_int();
      return Value::integer(r != 0 && ((r < 0) != (b.as_int() < 0)) ? r + b.as_int() : r);
    }
    double r = std::fmod(a.as_double(), b.as_double());
    if (r != 0 && ((r < 0) != (b.as_double() < 0))) r += b.as_double();
    return Value::floating(r);
  }
  throw std::invalid_argument("unknown operator '" + op + "'");
}

}  // namespace cnai::text::jinja
