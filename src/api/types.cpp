#include "cnai/api/types.hpp"

namespace cnai {

std::string_view to_string(Role r) noexcept {
  switch (r) {
    case Role::system: return "system";
    case Role::developer: return "developer";
    case Role::user: return "user";
    case Role::assistant: return "assistant";
    case Role::tool: return "tool";
  }
  return "user";
}

std::string_view to_string(FinishReason r) noexcept {
  switch (r) {
    case FinishReason::none: return "";
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
    case FinishReason::tool_calls: return "tool_calls";
    case FinishReason::content_filter: return "content_filter";
    case FinishReason::error: return "error";
  }
  return "";
}

}  // namespace cnai
