// Builtin global functions of the chat template environment.
#include "text/jinja/globals.hpp"

#include <ctime>
#include <stdexcept>

#include "cnai/core/error.hpp"

namespace cnai::text::jinja {
namespace {

constexpr std::int64_t kMaxRange = 100000;  // jinja2.sandbox.MAX_RANGE

Value range_fn(Interpreter&, CallArgs& args) {
  if (!args.named.empty()) throw std::invalid_argument("range() takes no keyword arguments");
  std::int64_t start = 0, stop = 0, step = 1;
  for (const auto& a : args.positional) {
    if (!a.is_integral()) throw std::invalid_argument("range() arguments must be integers, not " + std::string(type_name(a)));
  }
  const auto& p = args.positional;
  if (p.size() == 1) stop = p[0].as_int();
  else if (p.size() == 2 || p.size() == 3) {
    start = p[0].as_int();
    stop = p[1].as_int();
    if (p.size() == 3) step = p[2].as_int();
  } else {
    throw std::invalid_argument("range expected 1 to 3 arguments, got " + std::to_string(p.size()));
  }
  if (step == 0) throw std::invalid_argument("range() arg 3 must not be zero");
  const long double count = step > 0 ? (static_cast<long double>(stop) - start + step - 1) / step
                                     : (static_cast<long double>(start) - stop - step - 1) / -step;
  if (count > kMaxRange) throw std::invalid_argument("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  List out;
  for (std::int64_t x = start; step > 0 ? x < stop : x > stop; x += step) out.push_back(Value::integer(x));
  return Value::make_list(std::move(out));
}

Dict dict_from_args(const CallArgs& args, const char* what) {
  Dict d;
  if (args.positional.size() > 1) throw std::invalid_argument(std::string(what) + " takes at most one positional argument");
  if (args.positional.size() == 1) {
    const Value& init = args.positional[0];
    if (!init.is_dict()) throw std::invalid_argument(std::string(what) + " positional argument must be a mapping");
    d = *init.dict;
  }
  for (const auto& [k, v] : args.named) d.set(k, v);
  return d;
}

std::tm local_time(std::optional<std::chrono::system_clock::time_point> now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now.value_or(std::chrono::system_clock::now()));
  std::tm tm{};
  localtime_r(&t, &tm);
  return tm;
}

Value strftime_now(CallArgs& args, std::optional<std::chrono::system_clock::time_point> now) {
  const Value* fmt = find_arg(args, 0, "format");
  if (fmt == nullptr || !fmt->is_string()) throw std::invalid_argument("strftime_now() needs a format string");
  const std::tm tm = local_time(now);
  char buf[512];
  const std::size_t n = std::strftime(buf, sizeof buf, fmt->s.c_str(), &tm);
  return Value::string(std::string(buf, n));
}

}  // namespace

void add_builtin_globals(Frame& frame, std::optional<std::chrono::system_clock::time_point> now) {
  frame.vars["range"] = Value::function(range_fn);
  frame.vars["namespace"] = Value::function([](Interpreter& in, CallArgs& args) {
    Value ns = Value::make_namespace(dict_from_args(args, "namespace()"));
    in.track_namespace(ns.dict);
    return ns;
  });
  frame.vars["dict"] = Value::function(
      [](Interpreter&, CallArgs& args) { return Value::make_dict(dict_from_args(args, "dict()")); });
  frame.vars["raise_exception"] = Value::function([](Interpreter&, CallArgs& args) -> Value {
    const Value* msg = find_arg(args, 0, "message");
    throw Error(ErrorCode::invalid_argument, "chat template raised an exception: " + (msg ? to_str(*msg) : std::string()));
  });
  frame.vars["strftime_now"] = Value::function([now](Interpreter&, CallArgs& args) { return strftime_now(args, now); });
}

}  // namespace cnai::text::jinja
