// Jinja tests (`value is name(args)`) with jinja2's semantics.
#include <stdexcept>

#include "text/jinja/interpreter.hpp"
#include "text/jinja/unicode_case.hpp"

namespace cnai::text::jinja {
namespace {

const Value& required(const CallArgs& args, const std::string& test) {
  const Value* v = find_arg(args, 0, "other");
  if (v == nullptr) throw std::invalid_argument("test '" + test + "' needs an argument");
  return *v;
}

}  // namespace

bool apply_test(Interpreter&, const std::string& name, const Value& v, CallArgs& args) {
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.kind == Kind::boolean;
  if (name == "true") return v.kind == Kind::boolean && v.b;
  if (name == "false") return v.kind == Kind::boolean && !v.b;
  if (name == "integer") return v.kind == Kind::integer;
  if (name == "float") return v.kind == Kind::floating;
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_string() || v.is_sequence() || v.is_dict() || v.is_undefined();
  if (name == "mapping") return v.is_dict();
  if (name == "sequence") return v.is_string() || (v.is_sequence() && !v.lazy) || v.is_dict() || v.is_undefined();
  if (name == "callable") return v.kind == Kind::callable;
  if (name == "escaped") return v.markup;
  if (name == "lower") return py_is_cased(to_str(v), false);  // jinja2: str(value).islower()
  if (name == "upper") return py_is_cased(to_str(v), true);
  if (name == "odd" || name == "even" || name == "divisibleby") {
    require_defined(v);
    if (v.kind == Kind::floating) {  // Python: value % 2 == 1 works on floats too
      const Value d = name == "divisibleby" ? required(args, name) : Value::integer(2);
      if (!d.is_number() || d.as_double() == 0.0) throw std::invalid_argument("divisibleby needs a non-zero number");
      const Value r = binary_op("%", v, d);
      return name == "odd" ? r.f == 1.0 : r.f == 0.0;
    }
    if (!v.is_integral()) throw std::invalid_argument("test '" + name + "' needs a number");
    if (name == "divisibleby") {
      const Value& d = required(args, name);
      if (!d.is_integral() || d.as_int() == 0) throw std::invalid_argument("divisibleby needs a non-zero integer");
      if (d.as_int() == -1) return true;
      return v.as_int() % d.as_int() == 0;
    }
    const bool odd = v.as_int() % 2 != 0;
    return name == "odd" ? odd : !odd;
  }
  if (name == "eq" || name == "equalto" || name == "==") return equals(v, required(args, name));
  if (name == "ne" || name == "!=") return !equals(v, required(args, name));
  if (name == "sameas") {
    const Value& o = required(args, name);
    if (v.kind != o.kind) return false;
    if (v.is_none() || v.is_undefined()) return true;
    if (v.kind == Kind::boolean) return v.b == o.b;
    if (v.is_sequence()) return v.list == o.list;
    if (v.is_dict() || v.kind == Kind::ns) return v.dict == o.dict;
    return equals(v, o) && (v.kind == Kind::integer || v.kind == Kind::string);
  }
  if (name == "in") return contains(required(args, name), v);
  if (name == "lt" || name == "lessthan" || name == "<") return compare(v, required(args, name)) < 0;
  if (name == "le" || name == "<=") return compare(v, required(args, name)) <= 0;
  if (name == "gt" || name == "greaterthan" || name == ">") return compare(v, required(args, name)) > 0;
  if (name == "ge" || name == ">=") return compare(v, required(args, name)) >= 0;
  throw std::invalid_argument("no test named '" + name + "'");
}

}  // namespace cnai::text::jinja
