#include "clients/retry_policy.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>

namespace cnai::clients {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<double> parse_number(std::string_view s) {
  s = trim(s);
  if (s.empty() || s.size() > 32) return std::nullopt;
  std::string text(s);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<std::chrono::milliseconds> within_bounds(double ms, std::chrono::milliseconds max) {
  if (!(ms > 0.0) || ms > static_cast<double>(max.count())) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(ms)));
}

int month_index(std::string_view m) {
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (kMonths[static_cast<std::size_t>(i)] == m) return i;
  }
  return -1;
}

int parse_int(std::string_view s) {
  int v = -1;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return -1;
  return v;
}

}  // namespace

bool is_retryable_status(int status) noexcept {
  return status == 408 || status == 409 || status == 429 || (status >= 500 && status <= 599);
}

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
  // "Wed, 21 Oct 2015 07:28:00 GMT": fixed layout, 29 characters.
  text = trim(text);
  if (text.size() != 29 || text[3] != ',' || text.substr(26) != "GMT") return std::nullopt;
  int day = parse_int(text.substr(5, 2));
  int month = month_index(text.substr(8, 3));
  int year = parse_int(text.substr(12, 4));
  int hour = parse_int(text.substr(17, 2));
  int minute = parse_int(text.substr(20, 2));
  int second = parse_int(text.substr(23, 2));
  if (day < 1 || day > 31 || month < 0 || year < 1970 || hour < 0 || hour > 23 || minute < 0 ||
      minute > 59 || second < 0 || second > 60 || text[19] != ':' || text[22] != ':') {
    return std::nullopt;
  }
  std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month + 1)),
                                  std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  auto days = std::chrono::sys_days(ymd);
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      days + std::chrono::hours(hour) + std::chrono::minutes(minute) + std::chrono::seconds(second));
}

std::optional<std::chrono::milliseconds> server_retry_delay(const RetryHints& hints,
                                                            std::chrono::system_clock::time_point now,
                                                            std::chrono::milliseconds max_server_delay) {
  if (hints.retry_after_ms) {
    if (auto ms = parse_number(*hints.retry_after_ms)) return within_bounds(*ms, max_server_delay);
  }
  if (!hints.retry_after) return std::nullopt;
  if (auto seconds = parse_number(*hints.retry_after)) return within_bounds(*seconds * 1000.0, max_server_delay);
  if (auto when = parse_http_date(*hints.retry_after)) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*when - now).count();
    return within_bounds(static_cast<double>(ms), max_server_delay);
  }
  return std::nullopt;
}

std::chrono::milliseconds backoff_delay(int retries_done, const RetryConfig& config, double random01) {
  double base = static_cast<double>(config.initial_delay.count()) * std::pow(2.0, std::min(retries_done, 30));
  base = std::min(base, static_cast<double>(config.max_delay.count()));
  double jitter = 1.0 - 0.25 * std::clamp(random01, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(base * jitter));
}

RetryDecision RetryPolicy::decide(int retries_done, FailureKind kind, int status, const RetryHints& hints,
                                  bool content_delivered, std::chrono::system_clock::time_point now,
                                  double random01) const {
  if (content_delivered || retries_done >= config_.max_retries) return {};
  bool retry = false;
  switch (kind) {
    case FailureKind::connection:
    case FailureKind::timeout: retry = true; break;
    case FailureKind::other: retry = false; break;
    case FailureKind::http_status:
      if (hints.should_retry && trim(*hints.should_retry) == "true") {
        retry = true;
      } else if (hints.should_retry && trim(*hints.should_retry) == "false") {
        retry = false;
      } else {
        retry = is_retryable_status(status);
      }
      break;
  }
  if (!retry) return {};
  auto delay = server_retry_delay(hints, now, config_.max_server_delay);
  return {true, delay ? *delay : backoff_delay(retries_done, config_, random01)};
}

}  // namespace cnai::clients
