// RateWindow: an amount (requests, tokens) summed over the last minute in
// one-second buckets, for a deployment's RPM/TPM limits.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace cnai::router {

class RateWindow {
 public:
  using Clock = std::chrono::steady_clock;
  /// Adds `amount` if the minute's sum plus it stays within `limit` (always
  /// when the window is empty, so one large request is not refused forever);
  /// false otherwise. limit <= 0: unlimited, nothing counted.
  bool try_add(double amount, double limit, Clock::time_point now = Clock::now());
  void add(double amount, Clock::time_point now = Clock::now());
  double sum(Clock::time_point now = Clock::now()) const;

 private:
  double sum_locked(std::int64_t second) const;
  void add_locked(double amount, std::int64_t second);
  mutable std::mutex mutex_;
  std::array<double, 60> amount_{};
  std::array<std::int64_t, 60> second_{};  // which second each bucket holds
};

}  // namespace cnai::router
