// What every client call shares around its HTTP work: a std::stop_token
// bridged onto the HTTP layer's CancelToken, the outcome recorded for
// health() (consecutive failures make a client degraded, then unavailable),
// and the response bookkeeping (backend, total time, cost).
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <stop_token>
#include <string>

#include "clients/http/http_client.hpp"
#include "cnai/api/backend.hpp"
#include "cnai/clients/pricing.hpp"
#include "cnai/core/error.hpp"

namespace cnai::clients {

/// Consecutive-failure count and the last error, readable from any thread.
class OutcomeTracker {
 public:
  void success() noexcept { failures_.store(0, std::memory_order_relaxed); }
  void failure(const Error& e);
  BackendHealth health() const;

 private:
  std::atomic<int> failures_{0};
  mutable std::mutex mutex_;
  std::string last_error_;
};

/// Cancels `token()` when `stop` is requested, for the lifetime of one call.
class StopBridge {
 public:
  explicit StopBridge(std::stop_token stop) : callback_(std::move(stop), Cancel{&token_}) {}
  StopBridge(const StopBridge&) = delete;
  StopBridge& operator=(const StopBridge&) = delete;
  const CancelToken* token() const noexcept { return &token_; }

 private:
  struct Cancel {
    CancelToken* token;
    void operator()() const { token->cancel(); }
  };
  CancelToken token_;  // declared first: the callback may fire while constructing
  std::stop_callback<Cancel> callback_;
};

/// Sets what every client's response carries: `backend`, timings.total_ms
/// (since t0), and usage.cost_usd from `prices` (for the response's model,
/// else the requested one).
void finish_response(ChatResponse& r, const std::string& backend, const std::string& requested_model,
                     std::chrono::steady_clock::time_point t0, const PriceTable& prices);

/// Runs `call` and records its outcome; a cancellation is not a failure.
template <class F>
auto tracked(OutcomeTracker& tracker, F&& call) {
  try {
    auto result = call();
    tracker.success();
    return result;
  } catch (const Error& e) {
    if (e.code() != ErrorCode::cancelled && e.code() != ErrorCode::invalid_argument) tracker.failure(e);
    throw;
  }
}

}  // namespace cnai::clients
