// When and how long to wait before retrying an upstream call, following the
// official OpenAI/Anthropic SDKs. Pure logic (no I/O, no clock reads) so the
// decisions are unit-testable; the clients feed it statuses and headers.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "cnai/clients/client_options.hpp"

namespace cnai::clients {

/// The public ClientRetries (its defaults: max_retries 2, initial 500 ms, max
/// 8 s) plus the bound on delays a server may ask for.
struct RetryConfig : ClientRetries {
  RetryConfig() = default;
  explicit RetryConfig(const ClientRetries& retries) : ClientRetries(retries) {}
  /// Server-suggested delays are honoured only when 0 < d <= this.
  std::chrono::milliseconds max_server_delay{60000};
};

/// What the server said about retrying (header values as received).
struct RetryHints {
  std::optional<std::string> should_retry;    // x-should-retry
  std::optional<std::string> retry_after_ms;  // retry-after-ms
  std::optional<std::string> retry_after;     // retry-after: seconds or HTTP-date
};

enum class FailureKind { http_status, connection, timeout, other };

struct RetryDecision {
  bool retry = false;
  std::chrono::milliseconds delay{0};
};

/// Statuses the SDKs retry: 408, 409, 429 and every 5xx.
bool is_retryable_status(int status) noexcept;

/// Server-suggested delay from retry-after-ms, else retry-after (seconds or an
/// HTTP-date relative to `now`); nullopt when absent, unparsable or out of (0, max].
std::optional<std::chrono::milliseconds> server_retry_delay(
    const RetryHints& hints, std::chrono::system_clock::time_point now,
    std::chrono::milliseconds max_server_delay);

/// Exponential backoff after `retries_done` retries: min(initial * 2^n, max)
/// times (1 - 0.25 * random01).
std::chrono::milliseconds backoff_delay(int retries_done, const RetryConfig& config, double random01);

/// Parses an IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT").
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text);

class RetryPolicy {
 public:
  explicit RetryPolicy(RetryConfig config = {}) : config_(config) {}

  /// Decides after a failed attempt. `retries_done` counts retries already
  /// made; `content_delivered` is true once streamed content reached the
  /// caller (never retried then). `status` is used for FailureKind::http_status.
  RetryDecision decide(int retries_done, FailureKind kind, int status, const RetryHints& hints,
                       bool content_delivered, std::chrono::system_clock::time_point now,
                       double random01) const;

  const RetryConfig& config() const noexcept { return config_; }

 private:
  RetryConfig config_;
};

}  // namespace cnai::clients
