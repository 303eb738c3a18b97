// cnai::Error — the one exception type the library throws.
// Every failure carries an ErrorCode that says what went wrong and whether a
// retry may help; the server and Python layers map codes to statuses/classes.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cnai {

enum class ErrorCode {
  invalid_argument,
  model_format,
  unsupported,
  context_overflow,
  out_of_memory,
  not_found,
  unauthorized,
  rate_limited,
  timeout,
  unavailable,
  overloaded,
  budget_exceeded,
  upstream,
  cancelled,
  internal,
};

/// Stable lowercase name of a code ("model_format", ...).
std::string_view to_string(ErrorCode code) noexcept;

/// True for codes where the same request may succeed later
/// (rate_limited, timeout, unavailable, overloaded, upstream).
bool is_retryable(ErrorCode code) noexcept;

/// what() is the message alone; callers print the code beside it
/// (`to_string(e.code())`), so it is not said twice.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string message);

  /// An error that came from a remote service: carries its HTTP status and the
  /// upstream's own error message.
  Error(ErrorCode code, std::string message, int upstream_status,
        std::string upstream_message);

  ErrorCode code() const noexcept { return code_; }
  bool retryable() const noexcept { return is_retryable(code_); }
  std::optional<int> upstream_status() const noexcept { return upstream_status_; }
  const std::string& upstream_message() const noexcept { return upstream_message_; }
  /// How long the upstream asked to wait before the next call (Retry-After of a
  /// 429/503); routers use it as the deployment's cooldown.
  std::optional<std::chrono::milliseconds> retry_after() const noexcept { return retry_after_; }
  void set_retry_after(std::chrono::milliseconds delay) noexcept { retry_after_ = delay; }

 private:
  ErrorCode code_;
  std::optional<int> upstream_status_;
  std::string upstream_message_;
  std::optional<std::chrono::milliseconds> retry_after_;
};

}  // namespace cnai
