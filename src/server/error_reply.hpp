// Errors as OpenAI's JSON error body with the right HTTP status:
// {"error": {"message", "type", "param", "code"}}.
#pragma once

#include <string>
#include <string_view>

#include "cnai/core/error.hpp"
#include "server/http_types.hpp"

namespace cnai::server {

/// The reply for a cnai::Error (status from its code; `param` taken from a
/// message that starts with a field name and a colon).
HttpReply error_reply(const Error& error);
/// A reply for an HTTP-level refusal (404 route, 405, 413, 429 ...).
HttpReply error_reply(int status, std::string_view message, std::string_view type, std::string_view code = {},
                      std::string_view param = {});
/// The JSON body alone (for SSE error events).
std::string error_json(const Error& error);

}  // namespace cnai::server
