#include "clients/upstream_error.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include <boost/json.hpp>

#include "cnai/api/json.hpp"
#include "core/printable.hpp"

namespace cnai::clients {
namespace {

bool contains_ci(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != haystack.end();
}

bool says_context_overflow(std::string_view message, std::string_view code) {
  return code == "context_length_exceeded" || contains_ci(message, "context length") ||
         contains_ci(message, "context_length_exceeded") || contains_ci(message, "maximum context") ||
         contains_ci(message, "prompt is too long");
}

// A cnai server names its ErrorCode in "code" (openai_error_json).
std::optional<ErrorCode> cnai_code(std::string_view code) {
  for (ErrorCode c : {ErrorCode::rate_limited, ErrorCode::timeout, ErrorCode::unavailable, ErrorCode::overloaded,
                      ErrorCode::budget_exceeded, ErrorCode::context_overflow, ErrorCode::invalid_argument,
                      ErrorCode::unsupported, ErrorCode::out_of_memory, ErrorCode::internal}) {
    if (code == to_string(c)) return c;
  }
  return std::nullopt;
}

}  // namespace

ErrorCode error_code_for_status(int status, std::string_view message, std::string_view code) noexcept {
  switch (status) {
    case 400:
    case 413:
    case 422: return says_context_overflow(message, code) ? ErrorCode::context_overflow : ErrorCode::invalid_argument;
    case 401:
    case 403: return ErrorCode::unauthorized;
    case 404: return ErrorCode::not_found;
    case 408:
    case 504: return ErrorCode::timeout;
    case 429: return ErrorCode::rate_limited;
    case 503: return ErrorCode::unavailable;
    case 529: return ErrorCode::overloaded;
    default: break;
  }
  if (status >= 500) return ErrorCode::upstream;
  if (status == 409) return ErrorCode::upstream;
  return ErrorCode::invalid_argument;
}

Error error_from_response(std::string_view provider, const HttpResponse& response) {
  if (response.status >= 300 && response.status < 400) {
    const std::string location = core::printable(response.header("location").value_or("(no Location header)"), 300);
    return Error(ErrorCode::invalid_argument,
                 std::string(provider) + " redirected (HTTP " + std::to_string(response.status) + ") to '" + location +
                     "': redirects are not followed; point the client's base URL there",
                 response.status, location);
  }
  return error_from_response(provider, response.status, response.body);
}

Error error_from_response(std::string_view provider, int status, std::string_view body) {
  UpstreamErrorBody err = upstream_error_from_json(body);
  err.message = core::printable(err.message, 300);
  err.type = core::printable(err.type, 100);
  if (err.message.empty()) err.message = "(no error message)";
  ErrorCode code = error_code_for_status(status, err.message, err.code);
  std::string text = std::string(provider) + " returned HTTP " + std::to_string(status);
  if (!err.type.empty()) text += " (" + err.type + ")";
  text += ": " + err.message;
  return Error(code, std::move(text), status, err.message);
}

std::optional<Error> in_band_error(std::string_view provider, std::string_view data) {
  if (data.find("\"error\"") == std::string_view::npos) return std::nullopt;
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(boost::json::string_view(data.data(), data.size()), ec);
  const boost::json::object* root = ec ? nullptr : doc.if_object();
  if (!root || !root->if_contains("error")) return std::nullopt;
  const boost::json::value& e = root->at("error");
  if (e.is_null()) return std::nullopt;
  UpstreamErrorBody err = upstream_error_from_json(data);
  err.message = core::printable(err.message, 300);
  err.type = core::printable(err.type, 100);
  ErrorCode code = cnai_code(err.code).value_or(ErrorCode::upstream);
  if (err.type == "rate_limit_error" || err.code == "rate_limit_exceeded") code = ErrorCode::rate_limited;
  if (err.type == "overloaded_error") code = ErrorCode::overloaded;
  if (err.code == "context_length_exceeded") code = ErrorCode::context_overflow;
  std::string text = std::string(provider) + " sent an error in the stream";
  if (!err.type.empty()) text += " (" + err.type + ")";
  text += ": " + err.message;
  return Error(code, std::move(text));
}

}  // namespace cnai::clients
