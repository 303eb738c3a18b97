// libFuzzer target: arbitrary bytes as an HTTP/1.1 request, fed to Beast's
// parser in pieces with the server's limits, then through what the server
// does with a parsed request (HttpRequest, query parameters, multipart
// bodies, Responses request decoding). Errors are fine; crashes are not.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cnai/core/error.hpp"
#include "server/http_parse.hpp"
#include "server/multipart.hpp"
#include "server/responses_codec.hpp"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::size_t step = data[0] % 64 + 1;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 << 10);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::beast::error_code ec;
  for (std::size_t i = 0; i < input.size() && !parser.is_done(); ) {
    const std::size_t n = std::min(step, input.size() - i);
    const std::size_t used = parser.put(boost::asio::buffer(input.data() + i, n), ec);
    if (ec == http::error::need_more) {
      ec = {};
      if (used == 0 && n == input.size() - i) break;
      i += used == 0 ? n : used;
      continue;
    }
    if (ec) return 0;
    i += used;
    if (used == 0) break;
  }
  if (!parser.is_done()) return 0;
  cnai::server::HttpRequest req = cnai::server::to_http_request(parser.release());
  (void)req.query_param("limit");
  (void)req.query_param("after");
  try {
    if (auto ct = req.header("content-type"); ct && ct->starts_with("multipart/")) {
      for (const auto& part : cnai::server::parse_multipart(req.body, cnai::server::multipart_boundary(*ct))) {
        if (part.data.data() < req.body.data() || part.data.data() + part.data.size() > req.body.data() + req.body.size()) {
          __builtin_trap();  // a part's bytes come from the body
        }
      }
    } else {
      (void)cnai::server::responses_request_from_json(req.body);
    }
  } catch (const cnai::Error&) {
  }
  return 0;
}
