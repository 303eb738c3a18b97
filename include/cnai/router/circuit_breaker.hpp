// CircuitBreaker — one deployment's health as closed / open / half-open: the
// failure rate over a sliding window of recent calls opens it; a cooldown
// (Retry-After when the upstream gave one) that new failures can only extend;
// a bounded number of probe calls in half-open decide whether it closes again.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "cnai/core/error.hpp"

namespace cnai {

struct CircuitBreakerOptions {
  int window_calls = 20;                              // outcomes kept (the most recent ones)
  std::chrono::milliseconds window{60000};            // outcomes older than this are forgotten
  int minimum_calls = 5;                              // no rate judged on fewer calls in the window
  double failure_rate = 0.5;                          // opens at or above this share of failures
  std::chrono::milliseconds cooldown{30000};          // open for at least this long
  std::chrono::milliseconds max_cooldown{600000};     // bound on a Retry-After used as cooldown
  int half_open_probes = 1;                           // calls let through at once while half-open
  int half_open_successes = 1;                        // probe successes that close it
};

enum class BreakerState { closed, open, half_open };
std::string_view to_string(BreakerState s) noexcept;

/// Thread-safe. The router asks admit() before a call and reports the outcome
/// with record_success / record_failure, passing back the admission it got.
class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Admission { rejected, normal, probe };

  explicit CircuitBreaker(CircuitBreakerOptions options = {});

  Admission admit(Clock::time_point now = Clock::now());
  void record_success(Admission admission, Clock::time_point now = Clock::now());
  /// A failure that counts against the deployment's health. `retry_after`
  /// (from a 429/503) sets the cooldown when longer than the configured one.
  void record_failure(Admission admission, std::optional<std::chrono::milliseconds> retry_after = std::nullopt,
                      Clock::time_point now = Clock::now());
  /// Opens at once (401/403: the key is wrong, calls cannot succeed).
  void trip(std::optional<std::chrono::milliseconds> cooldown = std::nullopt, Clock::time_point now = Clock::now());
  /// A call admitted but never made (the router skipped it after admission).
  void release(Admission admission);

  BreakerState state(Clock::time_point now = Clock::now()) const;
  /// When an open breaker turns half-open; Clock::time_point{} when not open.
  Clock::time_point open_until() const;
  const CircuitBreakerOptions& options() const noexcept { return options_; }

 private:
  struct Outcome {
    Clock::time_point at;
    bool failed;
  };
  void open_locked(std::chrono::milliseconds cooldown, Clock::time_point now);
  void refresh_locked(Clock::time_point now) const;

  CircuitBreakerOptions options_;
  mutable std::mutex mutex_;
  mutable BreakerState state_ = BreakerState::closed;
  Clock::time_point open_until_{};
  std::vector<Outcome> ring_;  // window_calls entries, oldest overwritten
  std::size_t next_ = 0;
  int probes_in_flight_ = 0;
  int probe_successes_ = 0;
};

}  // namespace cnai
