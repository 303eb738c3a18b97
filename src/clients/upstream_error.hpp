// Maps an upstream HTTP error status and body to a cnai::Error carrying the
// status and the upstream's own message (shared by every API adapter).
#pragma once

#include <optional>
#include <string_view>

#include "clients/http/http_client.hpp"
#include "cnai/core/error.hpp"

namespace cnai::clients {

/// 400 -> invalid_argument (context_overflow when the body says the context
/// length was exceeded), 401/403 -> unauthorized, 404 -> not_found,
/// 408/504 -> timeout, 429 -> rate_limited, 503 -> unavailable,
/// 529 -> overloaded, other 5xx -> upstream.
ErrorCode error_code_for_status(int status, std::string_view upstream_message, std::string_view upstream_code) noexcept;

/// The Error to throw for a non-2xx response from `provider` ("openai", ...).
/// A redirect names its Location (the clients do not follow redirects: an API
/// base URL that moved is a configuration to fix). Text from the server is
/// escaped (core/printable) before it reaches a message.
Error error_from_response(std::string_view provider, const HttpResponse& response);
Error error_from_response(std::string_view provider, int status, std::string_view body);

/// An error event inside a 2xx stream ({"error": {...}} or an Anthropic
/// {"type":"error",...}) -> the Error to throw; nullopt when `data` is not one.
std::optional<Error> in_band_error(std::string_view provider, std::string_view data);

}  // namespace cnai::clients
