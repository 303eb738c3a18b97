// CircuitBreaker on an explicit clock: the window and minimum calls, a
// cooldown that only grows, Retry-After as cooldown, trips, half-open probes.
#include <doctest/doctest.h>

#include "cnai/router/circuit_breaker.hpp"

using namespace cnai;
using namespace std::chrono_literals;
using Clock = CircuitBreaker::Clock;
using Admission = CircuitBreaker::Admission;

namespace {
CircuitBreakerOptions small() {
  CircuitBreakerOptions o;
  o.window_calls = 10;
  o.window = 10s;
  o.minimum_calls = 4;
  o.failure_rate = 0.5;
  o.cooldown = 1s;
  o.half_open_probes = 1;
  return o;
}
}  // namespace

TEST_CASE("opens at the failure rate only once the window holds the minimum calls") {
  CircuitBreaker b(small());
  const auto t = Clock::now();
  for (int i = 0; i < 3; ++i) b.record_failure(b.admit(t), std::nullopt, t);
  CHECK(b.state(t) == BreakerState::closed);  // 3 of 3 failed, but fewer than 4 calls
  b.record_success(b.admit(t), t);
  CHECK(b.state(t) == BreakerState::closed);  // 3 of 4
  b.record_failure(b.admit(t), std::nullopt, t);  // 4 failures of 5
  CHECK(b.state(t) == BreakerState::open);
  CHECK(b.admit(t + 500ms) == Admission::rejected);
}

TEST_CASE("below the failure rate it stays closed; old outcomes leave the window") {
  CircuitBreaker b(small());
  auto t = Clock::now();
  for (int i = 0; i < 6; ++i) b.record_success(b.admit(t), t);
  for (int i = 0; i < 5; ++i) b.record_failure(b.admit(t), std::nullopt, t);  // 5 of 11 (ring keeps 10: 5 of 10)
  CHECK(b.state(t) == BreakerState::open);
  CircuitBreaker c(small());
  for (int i = 0; i < 3; ++i) c.record_failure(c.admit(t), std::nullopt, t);
  t += 11s;  // those three are older than the window now
  c.record_failure(c.admit(t), std::nullopt, t);
  CHECK(c.state(t) == BreakerState::closed);
}

TEST_CASE("half-open lets a bounded number of probes through; a success closes, a failure reopens") {
  CircuitBreaker b(small());
  const auto t = Clock::now();
  b.trip(std::nullopt, t);
  CHECK(b.state(t) == BreakerState::open);
  const auto later = t + 1001ms;
  CHECK(b.state(later) == BreakerState::half_open);
  const Admission probe = b.admit(later);
  CHECK(probe == Admission::probe);
  CHECK(b.admit(later) == Admission::rejected);  // one probe at a time
  b.record_failure(probe, std::nullopt, later);
  CHECK(b.state(later) == BreakerState::open);
  CHECK(b.open_until() >= later + 1s);
  const auto again = later + 1001ms;
  const Admission p2 = b.admit(again);
  REQUIRE(p2 == Admission::probe);
  b.record_success(p2, again);
  CHECK(b.state(again) == BreakerState::closed);
  CHECK(b.admit(again) == Admission::normal);
}

TEST_CASE("a cooldown is never shortened; Retry-After sets a longer one") {
  CircuitBreaker b(small());
  const auto t = Clock::now();
  b.record_failure(b.admit(t), 5000ms, t);  // 429 with Retry-After: 5 s opens at once
  CHECK(b.state(t) == BreakerState::open);
  const auto until = b.open_until();
  CHECK(until >= t + 5s);
  b.record_failure(Admission::normal, std::nullopt, t + 100ms);  // a late failure, cooldown 1 s
  CHECK(b.open_until() == until);                                  // not brought forward
  b.trip(std::nullopt, t + 200ms);
  CHECK(b.open_until() == until);
  CHECK(b.state(t + 4s) == BreakerState::open);
  b.record_failure(Admission::normal, 10000ms, t + 1s);  // a longer one extends it
  CHECK(b.open_until() >= t + 11s);
}

TEST_CASE("Retry-After is bounded by max_cooldown; a released probe frees its slot") {
  CircuitBreakerOptions o = small();
  o.max_cooldown = 2s;
  CircuitBreaker b(o);
  const auto t = Clock::now();
  b.record_failure(b.admit(t), std::chrono::milliseconds(3600 * 1000), t);
  CHECK(b.open_until() <= t + 2s);
  const auto later = t + 2001ms;
  const Admission p = b.admit(later);
  REQUIRE(p == Admission::probe);
  b.release(p);
  CHECK(b.admit(later) == Admission::probe);
}
