#include "server/http_parse.hpp"

#include <cctype>

namespace cnai::server {

HttpRequest to_http_request(boost::beast::http::request<boost::beast::http::string_body>&& msg) {
  HttpRequest req;
  req.method = std::string(msg.method_string());
  const std::string target(msg.target());
  const auto q = target.find('?');
  req.path = target.substr(0, q);
  if (q != std::string::npos) req.query = target.substr(q + 1);
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  req.body = std::move(msg.body());
  return req;
}

}  // namespace cnai::server
