// A client's request body parsed as one JSON object, depth-bounded against
// hostile input; anything else is Error(invalid_argument) naming the body.
#pragma once

#include <boost/json.hpp>
#include <fmt/format.h>

#include <string_view>

#include "cnai/core/error.hpp"

namespace cnai::server {

/// "body: malformed JSON (...)" or "body: expected a JSON object" when it is not one.
inline boost::json::object parse_body_object(std::string_view body) {
  boost::system::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = 64;
  boost::json::value v = boost::json::parse(boost::json::string_view(body.data(), body.size()), ec, {}, opts);
  if (ec) throw Error(ErrorCode::invalid_argument, fmt::format("body: malformed JSON ({})", ec.message()));
  if (!v.is_object()) throw Error(ErrorCode::invalid_argument, "body: expected a JSON object");
  return std::move(v.as_object());
}

}  // namespace cnai::server
