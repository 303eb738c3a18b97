#include "router/rate_window.hpp"

namespace cnai::router {
namespace {
std::int64_t second_of(RateWindow::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
}  // namespace

double RateWindow::sum_locked(std::int64_t second) const {
  double s = 0;
  for (std::size_t i = 0; i < amount_.size(); ++i)
    if (second - second_[i] < 60) s += amount_[i];
  return s;
}

void RateWindow::add_locked(double amount, std::int64_t second) {
  const std::size_t i = static_cast<std::size_t>(((second % 60) + 60) % 60);
  if (second_[i] != second) {
    second_[i] = second;
    amount_[i] = 0;
  }
  amount_[i] += amount;
}

bool RateWindow::try_add(double amount, double limit, Clock::time_point now) {
  if (limit <= 0) return true;
  const std::int64_t second = second_of(now);
  std::lock_guard lock(mutex_);
  const double s = sum_locked(second);
  if (s > 0 && s + amount > limit) return false;
  add_locked(amount, second);
  return true;
}

void RateWindow::add(double amount, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  add_locked(amount, second_of(now));
}

double RateWindow::sum(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  return sum_locked(second_of(now));
}

}  // namespace cnai::router
