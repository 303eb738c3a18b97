// OpenAI Responses API (POST /responses) <-> shared types: text messages and
// function tool calls/outputs map onto input items; output items back onto a
// ChatResponse.
#pragma once

#include <string>
#include <string_view>

#include "cnai/api/types.hpp"

namespace cnai::clients {

std::string to_responses_json(const ChatRequest& request);
ChatResponse chat_response_from_responses_json(std::string_view body);

}  // namespace cnai::clients
