// The step between Beast's parsed message and the handlers' HttpRequest
// (method, path/query split, lower-case header names), shared by the
// session and the HTTP fuzz target.
#pragma once

#include <boost/beast/http.hpp>

#include "server/http_types.hpp"

namespace cnai::server {

HttpRequest to_http_request(boost::beast::http::request<boost::beast::http::string_body>&& message);

}  // namespace cnai::server
