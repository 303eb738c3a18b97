// error_reply: ErrorCode -> HTTP status and OpenAI error type.
#include "server/error_reply.hpp"

#include <boost/json.hpp>

#include <cctype>

namespace cnai::server {
namespace {

namespace bj = boost::json;

int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
    case ErrorCode::unsupported:
    case ErrorCode::context_overflow:
    case ErrorCode::model_format:
      return 400;
    case ErrorCode::unauthorized: return 401;
    case ErrorCode::not_found: return 404;
    case ErrorCode::rate_limited:
    case ErrorCode::budget_exceeded:
      return 429;
    case ErrorCode::cancelled: return 499;
    case ErrorCode::upstream: return 502;
    case ErrorCode::unavailable:
    case ErrorCode::overloaded:
    case ErrorCode::out_of_memory:
      return 503;
    case ErrorCode::timeout: return 504;
    case ErrorCode::internal: return 500;
  }
  return 500;
}

std::string_view type_for(int status) {
  switch (status) {
    case 400:
    case 404:
    case 405:
    case 413:
    case 431: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 429: return "rate_limit_error";
    default: return "server_error";
  }
}

// "messages[0].role: ..." -> "messages[0].role"; "" when the message does not start with a field.
std::string param_of(std::string_view message) {
  const auto colon = message.find(": ");
  if (colon == std::string_view::npos || colon == 0 || colon > 80) return {};
  for (char c : message.substr(0, colon)) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '[' || c == ']')) return {};
  }
  return std::string(message.substr(0, colon));
}

bj::object body_of(std::string_view message, std::string_view type, std::string_view code, std::string_view param) {
  return {{"error", bj::object{{"message", message},
                               {"type", type},
                               {"param", param.empty() ? bj::value(nullptr) : bj::value(bj::string(param))},
                               {"code", code.empty() ? bj::value(nullptr) : bj::value(bj::string(code))}}}};
}

// Error::what() starts with the code's name ("invalid_argument: ..."): clients get the rest.
std::string_view message_of(const Error& e) {
  std::string_view m = e.what();
  const std::string_view code = to_string(e.code());
  if (m.starts_with(code) && m.substr(code.size()).starts_with(": ")) m.remove_prefix(code.size() + 2);
  return m;
}

}  // namespace

std::string error_json(const Error& e) {
  const int status = status_for(e.code());
  std::string_view code = to_string(e.code());
  if (e.code() == ErrorCode::context_overflow) code = "context_length_exceeded";
  const std::string_view message = message_of(e);
  return bj::serialize(body_of(message, type_for(status), code, param_of(message)));
}

HttpReply error_reply(const Error& e) {
  HttpReply r;
  r.status = status_for(e.code());
  r.body = error_json(e);
  if (r.status == 429 || r.status == 503) r.headers.emplace_back("retry-after", "1");
  return r;
}

HttpReply error_reply(int status, std::string_view message, std::string_view type, std::string_view code,
                      std::string_view param) {
  HttpReply r;
  r.status = status;
  r.body = bj::serialize(body_of(message, type.empty() ? type_for(status) : type, code, param));
  if (status == 429 || status == 503) r.headers.emplace_back("retry-after", "1");
  return r;
}

}  // namespace cnai::server
