// Client-side rate limits: token buckets for requests/minute and
// tokens/minute. acquire() reserves in arrival order (a bucket may go into
// debt), so a large request is never starved by a stream of small ones, then
// waits out its turn, honouring a cancellation check and a deadline. Bucket
// math takes explicit times (testable).
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>

#include "cnai/clients/client_options.hpp"

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
  /// Takes `amount` (clamped) now, into debt if need be, and returns how long
  /// until the bucket is out of debt: the caller's turn. Later reservations
  /// queue behind it, so turns follow arrival order.
  Clock::duration reserve(double amount, Clock::time_point now);
  /// Gives back a reservation that will not be used.
  void refund(double amount);
  double available(Clock::time_point now);

 private:
  void refill(Clock::time_point now);

  double capacity_;
  double per_second_;
  double level_;
  Clock::time_point last_;
};

/// requests_per_minute, tokens_per_minute; 0: unlimited (the public type).
using RateLimits = ClientRateLimits;

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RateLimiter(RateLimits limits);

  /// Reserves one request of `tokens` estimated tokens and blocks until its
  /// turn (first come, first served). Throws Error(cancelled) when
  /// `cancelled()` turns true, Error(rate_limited) when the turn would come
  /// after `deadline`; the reservation is given back then.
  void acquire(double tokens, const std::function<bool()>& cancelled = {},
               std::optional<Clock::time_point> deadline = std::nullopt);

  /// Non-blocking probe at an explicit time: how long until the request fits
  /// without debt (zero means it was taken; nothing is reserved otherwise).
  Clock::duration try_acquire(double tokens, Clock::time_point now);

  /// Reserves at an explicit time; returns the wait until the request's turn.
  Clock::duration reserve(double tokens, Clock::time_point now);
  void refund(double tokens);

 private:
  std::mutex mutex_;
  std::optional<TokenBucket> requests_;
  std::optional<TokenBucket> tokens_;
};

/// Rough token estimate for a request body: bytes / 4 plus the output budget.
double estimate_request_tokens(std::size_t body_bytes, std::optional<int> max_tokens);

}  // namespace cnai::clients
