// error_reply: ErrorCode -> HTTP status and OpenAI error type.
#include "server/error_reply.hpp"

#include <boost/json.hpp>

#include <cctype>

#include "cnai/api/json.hpp"

namespace cnai::server {
namespace {

namespace bj = boost::json;

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
  // The api/ decoders say "chat request: field 'messages[0].role' ...".
  if (const auto f = message.find("field '"); f != std::string_view::npos) {
    const auto end = message.find('\'', f + 7);
    if (end != std::string_view::npos) return std::string(message.substr(f + 7, end - f - 7));
  }
  // Backend's checks say "temperature must be in [0, 2], got 7".
  if (const auto sp = message.find(' '); sp != std::string_view::npos && sp > 0 && sp < 80) {
    const std::string_view rest = message.substr(sp + 1);
    bool ident = true;
    for (char c : message.substr(0, sp)) {
      ident = ident && (std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
                        c == '_' || c == '.' || c == '[' || c == ']');
    }
    if (ident && (rest.starts_with("must ") || rest.starts_with("is ") || rest.starts_with("has "))) {
      return std::string(message.substr(0, sp));
    }
  }
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
  const int status = http_status_for(e.code());
  std::string_view code = to_string(e.code());
  if (e.code() == ErrorCode::context_overflow) code = "context_length_exceeded";
  // A spent budget: 429 with OpenAI's own type for an exhausted quota
  // ("insufficient_quota"), so SDKs raise their RateLimitError as they do for
  // OpenAI's quota; the code says which limit it was.
  const std::string_view type = e.code() == ErrorCode::budget_exceeded ? "insufficient_quota" : type_for(status);
  const std::string_view message = message_of(e);
  return bj::serialize(body_of(message, type, code, param_of(message)));
}

HttpReply error_reply(const Error& e) {
  HttpReply r;
  r.status = http_status_for(e.code());
  r.body = error_json(e);
  if (e.code() == ErrorCode::budget_exceeded) {
    // Retrying within the budget's period cannot succeed: the openai SDKs
    // honour x-should-retry and give up at once instead of retrying a 429.
    r.headers.emplace_back("x-should-retry", "false");
  } else if (r.status == 429 || r.status == 503) {
    r.headers.emplace_back("retry-after", "1");
  }
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
