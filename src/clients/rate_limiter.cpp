#include "clients/rate_limiter.hpp"

#include <algorithm>
#include <thread>

#include "cnai/core/error.hpp"

namespace cnai::clients {

TokenBucket::TokenBucket(double per_minute, Clock::time_point now)
    : capacity_(per_minute), per_second_(per_minute / 60.0), level_(per_minute), last_(now) {}

void TokenBucket::refill(Clock::time_point now) {
  if (now <= last_) return;
  double seconds = std::chrono::duration<double>(now - last_).count();
  level_ = std::min(capacity_, level_ + seconds * per_second_);
  last_ = now;
}

double TokenBucket::available(Clock::time_point now) {
  refill(now);
  return level_;
}

TokenBucket::Clock::duration TokenBucket::wait_for(double amount, Clock::time_point now) {
  refill(now);
  amount = std::min(amount, capacity_);
  if (level_ >= amount) return Clock::duration::zero();
  double seconds = (amount - level_) / per_second_;
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)) + Clock::duration(1);
}

bool TokenBucket::try_take(double amount, Clock::time_point now) {
  if (wait_for(amount, now) != Clock::duration::zero()) return false;
  level_ -= std::min(amount, capacity_);
  return true;
}

TokenBucket::Clock::duration TokenBucket::reserve(double amount, Clock::time_point now) {
  refill(now);
  level_ -= std::min(amount, capacity_);
  if (level_ >= 0) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(-level_ / per_second_)) +
         Clock::duration(1);
}

void TokenBucket::refund(double amount) { level_ = std::min(capacity_, level_ + std::min(amount, capacity_)); }

RateLimiter::RateLimiter(RateLimits limits) {
  auto now = Clock::now();
  if (limits.requests_per_minute > 0) requests_.emplace(limits.requests_per_minute, now);
  if (limits.tokens_per_minute > 0) tokens_.emplace(limits.tokens_per_minute, now);
}

RateLimiter::Clock::duration RateLimiter::try_acquire(double tokens, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Clock::duration wait = Clock::duration::zero();
  if (requests_) wait = std::max(wait, requests_->wait_for(1.0, now));
  if (tokens_) wait = std::max(wait, tokens_->wait_for(tokens, now));
  if (wait > Clock::duration::zero()) return wait;
  if (requests_) requests_->try_take(1.0, now);
  if (tokens_) tokens_->try_take(tokens, now);
  return Clock::duration::zero();
}

RateLimiter::Clock::duration RateLimiter::reserve(double tokens, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Clock::duration wait = Clock::duration::zero();
  if (requests_) wait = std::max(wait, requests_->reserve(1.0, now));
  if (tokens_) wait = std::max(wait, tokens_->reserve(tokens, now));
  return wait;
}

void RateLimiter::refund(double tokens) {
  std::lock_guard lock(mutex_);
  if (requests_) requests_->refund(1.0);
  if (tokens_) tokens_->refund(tokens);
}

void RateLimiter::acquire(double tokens, const std::function<bool()>& cancelled,
                          std::optional<Clock::time_point> deadline) {
  if (cancelled && cancelled()) throw Error(ErrorCode::cancelled, "rate limiter: request cancelled while waiting");
  const auto now = Clock::now();
  const auto wait = reserve(tokens, now);
  if (wait == Clock::duration::zero()) return;
  const auto turn = now + wait;
  if (deadline && turn > *deadline) {
    refund(tokens);
    throw Error(ErrorCode::rate_limited, "client rate limit: waiting " +
                                             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()) +
                                             " ms for capacity would pass the request deadline");
  }
  // Sleep in short slices so cancellation is noticed promptly.
  constexpr auto kSlice = std::chrono::milliseconds(20);
  while (Clock::now() < turn) {
    if (cancelled && cancelled()) {
      refund(tokens);
      throw Error(ErrorCode::cancelled, "rate limiter: request cancelled while waiting");
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(turn - Clock::now(), kSlice));
  }
}

double estimate_request_tokens(std::size_t body_bytes, std::optional<int> max_tokens) {
  return static_cast<double>(body_bytes) / 4.0 + static_cast<double>(std::max(0, max_tokens.value_or(0)));
}

}  // namespace cnai::clients
