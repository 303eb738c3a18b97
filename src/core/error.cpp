#include "cnai/core/error.hpp"

#include <utility>

namespace cnai {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::model_format: return "model_format";
    case ErrorCode::unsupported: return "unsupported";
    case ErrorCode::context_overflow: return "context_overflow";
    case ErrorCode::out_of_memory: return "out_of_memory";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::unauthorized: return "unauthorized";
    case ErrorCode::rate_limited: return "rate_limited";
    case ErrorCode::timeout: return "timeout";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::overloaded: return "overloaded";
    case ErrorCode::budget_exceeded: return "budget_exceeded";
    case ErrorCode::upstream: return "upstream";
    case ErrorCode::cancelled: return "cancelled";
    case ErrorCode::internal: return "internal";
  }
  return "unknown";
}

bool is_retryable(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::rate_limited:
    case ErrorCode::timeout:
    case ErrorCode::unavailable:
    case ErrorCode::overloaded:
    case ErrorCode::upstream:
      return true;
    default:
      return false;
  }
}

Error::Error(ErrorCode code, std::string message) : std::runtime_error(std::move(message)), code_(code) {}

Error::Error(ErrorCode code, std::string message, int upstream_status,
             std::string upstream_message)
    : std::runtime_error(std::move(message)),
      code_(code),
      upstream_status_(upstream_status),
      upstream_message_(std::move(upstream_message)) {}

}  // namespace cnai
