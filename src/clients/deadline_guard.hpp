// Cancels a CancelToken when a deadline passes, so a request's deadline also
// bounds the HTTP call in flight (not only the waits between attempts).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "clients/http/http_client.hpp"

namespace cnai::clients {

class DeadlineGuard {
 public:
  using Clock = std::chrono::steady_clock;

  /// No thread is started without a deadline. `outer` (the caller's token)
  /// is forwarded: cancelling it cancels `token()` too.
  DeadlineGuard(std::optional<Clock::time_point> deadline, const CancelToken* outer);
  ~DeadlineGuard();
  DeadlineGuard(const DeadlineGuard&) = delete;
  DeadlineGuard& operator=(const DeadlineGuard&) = delete;

  const CancelToken* token() const { return &token_; }
  /// True when the deadline (not the caller) cancelled the call.
  bool expired() const;

 private:
  CancelToken token_;
  const CancelToken* outer_;
  std::uint64_t outer_callback_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  bool expired_ = false;
  std::thread watcher_;
};

}  // namespace cnai::clients
