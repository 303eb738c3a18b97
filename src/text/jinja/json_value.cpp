// Boost.JSON -> template values.
#include "text/jinja/json_value.hpp"

#include <boost/json.hpp>

#include "cnai/core/error.hpp"

namespace cnai::text::jinja {
namespace {

Value from_json(const boost::json::value& j, int depth) {
  if (depth > 256) throw Error(ErrorCode::invalid_argument, "JSON nested too deeply for a chat template");
  switch (j.kind()) {
    case boost::json::kind::null: return Value::none();
    case boost::json::kind::bool_: return Value::boolean(j.get_bool());
    case boost::json::kind::int64: return Value::integer(j.get_int64());
    case boost::json::kind::uint64: {
      const auto u = j.get_uint64();
      return u <= static_cast<std::uint64_t>(INT64_MAX) ? Value::integer(static_cast<std::int64_t>(u))
                                                        : Value::floating(static_cast<double>(u));
    }
    case boost::json::kind::double_: return Value::floating(j.get_double());
    case boost::json::kind::string: return Value::string(std::string(j.get_string()));
    case boost::json::kind::array: {
      List items;
      for (const auto& x : j.get_array()) items.push_back(from_json(x, depth + 1));
      return Value::make_list(std::move(items));
    }
    case boost::json::kind::object: {
      Dict d;
      for (const auto& [k, v] : j.get_object()) d.set(std::string(k), from_json(v, depth + 1));
      return Value::make_dict(std::move(d));
    }
  }
  return Value::none();
}

}  // namespace

Value parse_json_value(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = 256;
  const boost::json::value j = boost::json::parse(text, ec, {}, opts);
  if (ec) throw Error(ErrorCode::invalid_argument, std::string(what) + " is not valid JSON: " + ec.message());
  return from_json(j, 0);
}

}  // namespace cnai::text::jinja
