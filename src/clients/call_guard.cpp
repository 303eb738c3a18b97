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
