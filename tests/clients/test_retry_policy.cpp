// Retry decisions and delays (pure logic, no transport).
#include <doctest/doctest.h>

#include "clients/retry_policy.hpp"

using namespace cnai::clients;
using namespace std::chrono_literals;

namespace {
const auto kNow = std::chrono::sys_days(std::chrono::year(2026) / 11 / 23) + 12h;  // fixed clock
}

TEST_CASE("retryable statuses follow the SDKs") {
  for (int s : {408, 409, 429, 500, 502, 503, 504, 529, 599}) CHECK(is_retryable_status(s));
  for (int s : {200, 400, 401, 403, 404, 422}) CHECK_FALSE(is_retryable_status(s));
}

TEST_CASE("backoff doubles from the initial delay, caps, and jitters down by at most 25%") {
  RetryConfig c;
  CHECK(backoff_delay(0, c, 0.0) == 500ms);
  CHECK(backoff_delay(1, c, 0.0) == 1000ms);
  CHECK(backoff_delay(2, c, 0.0) == 2000ms);
  CHECK(backoff_delay(4, c, 0.0) == 8000ms);
  CHECK(backoff_delay(10, c, 0.0) == 8000ms);
  CHECK(backoff_delay(0, c, 1.0) == 375ms);
  CHECK(backoff_delay(3, c, 0.5) == 3500ms);  // 4000 * 0.875
  c.initial_delay = 2ms;
  CHECK(backoff_delay(1, c, 0.0) == 4ms);
}

TEST_CASE("server delays: retry-after-ms first, then seconds, then HTTP-date, only in (0, 60s]") {
  RetryHints h;
  h.retry_after_ms.emplace("250");
  h.retry_after.emplace("5");
  CHECK(server_retry_delay(h, kNow, 60s) == 250ms);
  h.retry_after_ms.reset();
  CHECK(server_retry_delay(h, kNow, 60s) == 5000ms);
  h.retry_after.emplace("0.5");
  CHECK(server_retry_delay(h, kNow, 60s) == 500ms);
  h.retry_after.emplace("0");
  CHECK_FALSE(server_retry_delay(h, kNow, 60s));
  h.retry_after.emplace("61");
  CHECK_FALSE(server_retry_delay(h, kNow, 60s));
  h.retry_after.emplace("-3");
  CHECK_FALSE(server_retry_delay(h, kNow, 60s));
  h.retry_after.emplace("soon");
  CHECK_FALSE(server_retry_delay(h, kNow, 60s));
  h.retry_after.emplace("Mon, 23 Nov 2026 12:00:30 GMT");
  CHECK(server_retry_delay(h, kNow, 60s) == 30000ms);
  h.retry_after.emplace("Mon, 23 Nov 2026 11:59:30 GMT");  // in the past
  CHECK_FALSE(server_retry_delay(h, kNow, 60s));
  h.retry_after_ms.emplace("garbage");  // unparsable ms falls through to retry-after
  h.retry_after.emplace("2");
  CHECK(server_retry_delay(h, kNow, 60s) == 2000ms);
}

TEST_CASE("HTTP-date parsing") {
  auto t = parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT");
  REQUIRE(t);
  CHECK(std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count() == 1445412480);
  CHECK_FALSE(parse_http_date("Wed, 21 Foo 2015 07:28:00 GMT"));
  CHECK_FALSE(parse_http_date("Wed, 31 Feb 2015 07:28:00 GMT"));
  CHECK_FALSE(parse_http_date(""));
  CHECK_FALSE(parse_http_date("Wed, 21 Oct 2015 07:28:00 UTC"));
}

TEST_CASE("decide: statuses, x-should-retry, limits, streamed content") {
  RetryPolicy p;  // 2 retries
  RetryHints none;
  auto d = p.decide(0, FailureKind::http_status, 429, none, false, kNow, 0.0);
  CHECK(d.retry);
  CHECK(d.delay == 500ms);
  CHECK(p.decide(1, FailureKind::http_status, 503, none, false, kNow, 0.0).delay == 1000ms);
  CHECK_FALSE(p.decide(2, FailureKind::http_status, 503, none, false, kNow, 0.0).retry);  // retries used up
  CHECK_FALSE(p.decide(0, FailureKind::http_status, 400, none, false, kNow, 0.0).retry);
  CHECK(p.decide(0, FailureKind::connection, 0, none, false, kNow, 0.0).retry);
  CHECK(p.decide(0, FailureKind::timeout, 0, none, false, kNow, 0.0).retry);
  CHECK_FALSE(p.decide(0, FailureKind::other, 0, none, false, kNow, 0.0).retry);

  RetryHints no;
  no.should_retry.emplace("false");
  CHECK_FALSE(p.decide(0, FailureKind::http_status, 503, no, false, kNow, 0.0).retry);
  RetryHints yes;
  yes.should_retry.emplace("true");
  CHECK(p.decide(0, FailureKind::http_status, 400, yes, false, kNow, 0.0).retry);

  RetryHints server;
  server.retry_after.emplace("3");
  CHECK(p.decide(0, FailureKind::http_status, 429, server, false, kNow, 0.9).delay == 3000ms);

  CHECK_FALSE(p.decide(0, FailureKind::connection, 0, none, true, kNow, 0.0).retry);  // content already delivered

  RetryConfig zero;
  zero.max_retries = 0;
  CHECK_FALSE(RetryPolicy(zero).decide(0, FailureKind::http_status, 500, none, false, kNow, 0.0).retry);
}
