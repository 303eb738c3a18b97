// The router's counters and histograms (atomics: no lock on the request
// path) and their Prometheus text rendering.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cnai/core/error.hpp"

namespace cnai::router {

inline constexpr std::size_t kErrorCodes = 15;  // ErrorCode's values

class Histogram {
 public:
  explicit Histogram(std::span<const double> bounds);
  void observe(double v) noexcept;
  /// Appends NAME_bucket/_sum/_count lines with `labels` ("a=\"b\"", may be empty).
  void render(std::string& out, const std::string& name, const std::string& labels) const;
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

 private:
  std::span<const double> bounds_;
  std::vector<std::atomic<std::uint64_t>> buckets_;  // bounds_.size() + 1 (+Inf)
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

/// The OpenTelemetry GenAI semantic conventions' advised bucket boundaries.
std::span<const double> duration_bounds();  // gen_ai.client.operation.duration (s)
std::span<const double> ttft_bounds();      // gen_ai.server.time_to_first_token (s)
std::span<const double> token_bounds();     // gen_ai.client.token.usage
std::span<const double> overhead_bounds();  // cnai_router_overhead_seconds

struct DeploymentMetrics {
  std::atomic<std::uint64_t> requests{0};  // attempts made
  std::atomic<std::uint64_t> successes{0};
  std::array<std::atomic<std::uint64_t>, kErrorCodes> errors{};     // failed attempts by class
  std::array<std::atomic<std::uint64_t>, kErrorCodes> fallbacks{};  // moved on from here, by cause
  std::atomic<std::uint64_t> skipped{0};                             // passed over (cooldown, limits, filters)
  std::atomic<std::uint64_t> input_tokens{0}, output_tokens{0};
  std::atomic<double> cost_usd{0};
  Histogram duration{duration_bounds()};
  Histogram duration_error{duration_bounds()};
  Histogram ttft{ttft_bounds()};
  Histogram input_usage{token_bounds()};
  Histogram output_usage{token_bounds()};
};

struct AliasMetrics {
  std::atomic<std::uint64_t> served{0};
  std::array<std::atomic<std::uint64_t>, kErrorCodes> failed{};  // requests that ended in an error, by code
  std::atomic<std::uint64_t> cache_hits{0}, cache_misses{0};
  std::atomic<std::uint64_t> streams_joined{0};        // continued after a mid-stream failure
  std::atomic<std::uint64_t> streams_failed_after_content{0};
  std::atomic<std::uint64_t> waited_for_recovery{0};   // max_wait used: a breaker cooling down
  std::atomic<std::uint64_t> waited_for_slot{0};       // max_wait used: every deployment at max_concurrency
};

/// Escapes a label value for the exposition format (\\, \", \n).
std::string label_value(const std::string& v);

}  // namespace cnai::router
