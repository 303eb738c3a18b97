// Template values: the Python objects a Jinja template sees (None, bool, int,
// float, str, list, tuple, dict, namespace, callables) and the Python
// semantics of printing, truthiness, equality and ordering on them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cnai::text::jinja {

enum class Kind : std::uint8_t { undefined, none, boolean, integer, floating, string, list, tuple, dict, ns, callable };

struct Value;
struct Dict;
class Interpreter;
using List = std::vector<Value>;

/// Arguments of a call: positional then keyword, in source order.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> named;
};

using NativeFn = std::function<Value(Interpreter&, CallArgs&)>;

struct Value {
  Kind kind = Kind::undefined;
  bool markup = false;  // a str that is jinja2 Markup (from |safe): `+` escapes plain operands
  bool lazy = false;    // a list that is a Python generator in jinja2 (|map, |select...): no len(), no JSON
  bool b = false;
  std::int64_t i = 0;
  double f = 0.0;
  std::string s;  // string text; for undefined, the name that was missing (for messages)
  std::shared_ptr<const List> list;
  std::shared_ptr<Dict> dict;  // dict (treated as immutable) or namespace (mutable)
  std::shared_ptr<const NativeFn> fn;

  static Value undefined(std::string hint = {});
  static Value none();
  static Value boolean(bool v);
  static Value integer(std::int64_t v);
  static Value floating(double v);
  static Value string(std::string v, bool markup = false);
  static Value make_list(List items);
  static Value make_tuple(List items);
  static Value make_generator(List items);
  static Value make_dict(Dict d);
  static Value make_namespace(Dict d);
  static Value function(NativeFn f);

  bool is_undefined() const { return kind == Kind::undefined; }
  bool is_none() const { return kind == Kind::none; }
  bool is_string() const { return kind == Kind::string; }
  bool is_number() const { return kind == Kind::integer || kind == Kind::floating || kind == Kind::boolean; }
  bool is_sequence() const { return kind == Kind::list || kind == Kind::tuple; }
  bool is_dict() const { return kind == Kind::dict; }
  bool is_integral() const { return kind == Kind::integer || kind == Kind::boolean; }
  std::int64_t as_int() const { return kind == Kind::boolean ? (b ? 1 : 0) : i; }
  double as_double() const { return kind == Kind::floating ? f : static_cast<double>(as_int()); }
};

/// An insertion-ordered dict with Python's keys: any hashable value (str, int,
/// float, bool, None, tuples of those); equal keys are one key (1, 1.0 and
/// True alike, the first one inserted kept, as Python does).
struct Dict {
  std::vector<std::pair<Value, Value>> entries;
  const Value* find(std::string_view key) const;  // a str key
  /// Throws std::invalid_argument ("unhashable type: 'list'") for lists, dicts.
  const Value* find(const Value& key) const;
  void set(std::string key, Value v);
  void set(Value key, Value v);
};

/// Throws std::invalid_argument unless `key` may be a dict key (Python's hashable).
void require_hashable(const Value& key);

/// Python type name ("str", "dict", ...), for error messages.
std::string_view type_name(const Value& v);
/// Python bool(v).
bool truthy(const Value& v);
/// Python str(v) (what `{{ v }}` prints); undefined prints as "".
std::string to_str(const Value& v);
/// Python repr(v) (how values appear inside printed lists and dicts).
std::string to_repr(const Value& v);
/// Python repr of a float (shortest round-trip digits, Python's exponent rules).
std::string float_repr(double v);
/// Python ==.
bool equals(const Value& a, const Value& b);
/// Python <: returns -1/0/1; throws std::invalid_argument when unorderable.
int compare(const Value& a, const Value& b);

struct JsonFormat {
  int indent = -1;  // < 0: single line
  std::string item_sep = ", ";
  std::string key_sep = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;  // escape non-ASCII as \uXXXX (surrogate pairs above U+FFFF)
};
/// json.dumps(v, ensure_ascii=False, ...); throws std::invalid_argument for values JSON cannot hold.
std::string to_json(const Value& v, const JsonFormat& format);

/// Items of an iterable (list/tuple items, dict keys, string characters,
/// nothing for undefined); throws std::invalid_argument when not iterable.
List iterate(const Value& v);

// UTF-8 helpers (Python strings index by code point).
std::vector<std::string_view> utf8_chars(std::string_view s);
std::size_t utf8_length(std::string_view s);
bool is_py_space(std::string_view ch);
std::string py_strip(std::string_view s, bool left, bool right, std::string_view chars = {}, bool has_chars = false);
std::string html_escape(std::string_view s);

}  // namespace cnai::text::jinja
