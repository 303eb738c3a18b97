// Client-side rate limits: token buckets for requests/minute and
// tokens/minute. acquire() blocks until both allow the request, honouring a
// cancellation check and a deadline. Bucket math takes explicit times (testable).
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>

namespace cnai::clients {

/// Capacity refills continuously at capacity per minute; starts full.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket(double per_minute, Clock::time_point now);

  /// Time until `amount` is available (zero when it is now). Amounts above
  /// the capacity are clamped to it, so a large request waits, never forever.
  Clock::duration wait_for(double amount, Clock::time_point now);
  /// Takes `amount` (clamped) if available now.
  bool try_take(double amount, Clock::time_point now);
  double available(Clock::time_point now);

 private:
  void refill(Clock::time_point now);

  double capacity_;
  double per_second_;
  double level_;
  Clock::time_point last_;
};

struct RateLimits {
  double requests_per_minute = 0;  // 0: unlimited
  double tokens_per_minute = 0;    // 0: unlimited
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RateLimiter(RateLimits limits);

  /// Blocks until one request of `tokens` estimated tokens fits. Throws
  /// Error(cancelled) when `cancelled()` turns true, Error(rate_limited) when
  /// the wait would pass `deadline`.
  void acquire(double tokens, const std::function<bool()>& cancelled = {},
               std::optional<Clock::time_point> deadline = std::nullopt);

  /// Non-blocking form at an explicit time: how long until the request fits
  /// (zero means it was taken).
  Clock::duration try_acquire(double tokens, Clock::time_point now);

 private:
  std::mutex mutex_;
  std::optional<TokenBucket> requests_;
  std::optional<TokenBucket> tokens_;
};

/// Rough token estimate for a request body: bytes / 4 plus the output budget.
double estimate_request_tokens(std::size_t body_bytes, std::optional<int> max_tokens);

}  // namespace cnai::clients
