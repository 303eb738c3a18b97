#include "clients/call_guard.hpp"

namespace cnai::clients {
namespace {
constexpr int kUnavailableAfter = 3;  // consecutive failures
}

void OutcomeTracker::failure(const Error& e) {
  {
    std::lock_guard lock(mutex_);
    last_error_ = std::string(to_string(e.code())) + ": " + e.what();
  }
  failures_.fetch_add(1, std::memory_order_relaxed);
}

void finish_response(ChatResponse& r, const std::string& backend, const std::string& requested_model,
                     std::chrono::steady_clock::time_point t0, const PriceTable& prices) {
  r.backend = backend;
  r.timings.total_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  r.usage.cost_usd = prices.cost_usd(r.model.empty() ? requested_model : r.model, r.usage);
}

BackendHealth OutcomeTracker::health() const {
  BackendHealth h;
  const int n = failures_.load(std::memory_order_relaxed);
  if (n == 0) return h;
  h.status = n >= kUnavailableAfter ? HealthStatus::unavailable : HealthStatus::degraded;
  std::lock_guard lock(mutex_);
  h.detail = std::to_string(n) + " consecutive failure(s), the last: " + last_error_;
  return h;
}

}  // namespace cnai::clients
