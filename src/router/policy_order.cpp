// The ordering policies: ordered, cost, latency, least busy, overflow, weighted.
#include <algorithm>
#include <limits>
#include <random>

#include "cnai/router/policy.hpp"

namespace cnai {
namespace {

// Skipped candidates stay (the error lists them) but after every usable one.
void skipped_last(std::vector<RouteCandidate>& c) {
  std::stable_partition(c.begin(), c.end(), [](const RouteCandidate& x) { return x.skipped.empty(); });
}

bool saturated(const RouteCandidate& c) { return c.max_concurrency > 0 && c.in_flight >= c.max_concurrency; }

std::mt19937_64& rng() {
  thread_local std::mt19937_64 g{std::random_device{}()};
  return g;
}

}  // namespace

void OrderedPolicy::rank(std::vector<RouteCandidate>& c, const RouteContext&) const { skipped_last(c); }

void CostPolicy::rank(std::vector<RouteCandidate>& c, const RouteContext&) const {
  std::stable_sort(c.begin(), c.end(), [](const RouteCandidate& a, const RouteCandidate& b) {
    if (a.skipped.empty() != b.skipped.empty()) return a.skipped.empty();
    if (saturated(a) != saturated(b)) return !saturated(a);
    return a.estimated_cost_usd < b.estimated_cost_usd;
  });
}

void LatencyPolicy::rank(std::vector<RouteCandidate>& c, const RouteContext& ctx) const {
  const double tokens = static_cast<double>(ctx.expected_completion_tokens);
  auto expected_ms = [&](const RouteCandidate& x) {
    if (x.ttft_ms <= 0 && x.tokens_per_s <= 0) return 0.0;  // no sample yet: try it
    return x.ttft_ms + (x.tokens_per_s > 0 ? tokens / x.tokens_per_s * 1000.0 : 0.0);
  };
  std::vector<double> score(c.size());
  for (std::size_t i = 0; i < c.size(); ++i) score[i] = expected_ms(c[i]);
  std::vector<std::size_t> order(c.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (c[a].skipped.empty() != c[b].skipped.empty()) return c[a].skipped.empty();
    return score[a] < score[b];
  });
  // The band of the best: equally fast within the tolerance, shuffled.
  std::size_t band = 0;
  if (!order.empty() && c[order[0]].skipped.empty()) {
    const double limit = score[order[0]] * (1.0 + tolerance_);
    while (band < order.size() && c[order[band]].skipped.empty() && score[order[band]] <= limit) ++band;
  }
  if (band > 1) std::shuffle(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(band), rng());
  std::vector<RouteCandidate> out;
  out.reserve(c.size());
  for (std::size_t i : order) out.push_back(std::move(c[i]));
  c = std::move(out);
}

void LeastBusyPolicy::rank(std::vector<RouteCandidate>& c, const RouteContext&) const {
  std::stable_sort(c.begin(), c.end(), [](const RouteCandidate& a, const RouteCandidate& b) {
    if (a.skipped.empty() != b.skipped.empty()) return a.skipped.empty();
    return a.in_flight + a.health.queue_depth < b.in_flight + b.health.queue_depth;
  });
}

int OverflowPolicy::queue_depth(const RouteCandidate& c) noexcept {
  // A backend that says how many it serves at once (a local engine's
  // sequences): the router's calls beyond that wait, even before its own
  // queue shows them (a burst arrives faster than the engine's stats follow),
  // and requests it has not admitted yet do not while it has free slots
  // (they join the next batch step).
  if (c.health.capacity > 0) {
    const int free_slots = std::max(0, c.health.capacity - c.health.running);
    return std::max(c.health.queue_depth - free_slots, c.in_flight - c.health.capacity);
  }
  return std::max(c.health.queue_depth, c.in_flight - std::max(c.health.running, 1));
}

void OverflowPolicy::rank(std::vector<RouteCandidate>& c, const RouteContext&) const {
  const std::size_t primaries = std::min(c.size(), static_cast<std::size_t>(std::max(0, options_.primary_count)));
  bool any_full = false, all_drained = true;
  for (std::size_t i = 0; i < primaries; ++i) {
    if (!c[i].skipped.empty()) continue;
    const int depth = queue_depth(c[i]);
    const bool waits = options_.max_wait.count() > 0 &&
                       c[i].health.estimated_wait_ms >= static_cast<double>(options_.max_wait.count());
    if (depth >= options_.max_queue_depth || waits) any_full = true;
    if (depth > options_.resume_queue_depth || waits) all_drained = false;
  }
  // Hysteresis: overflow starts when a primary is full and stops only once
  // all have drained, so a queue hovering at the threshold does not flap.
  bool over = overflowing_.load(std::memory_order_relaxed);
  if (!over && any_full) over = true;
  if (over && all_drained) over = false;
  overflowing_.store(over, std::memory_order_relaxed);
  if (over) std::rotate(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(primaries), c.end());
  skipped_last(c);
}

void WeightedRandomPolicy::rank(std::vector<RouteCandidate>& c, const RouteContext&) const {
  skipped_last(c);
  std::size_t usable = 0;
  while (usable < c.size() && c[usable].skipped.empty()) ++usable;
  // Draw without replacement: each position picks among the rest by weight.
  for (std::size_t i = 0; i + 1 < usable; ++i) {
    double total = 0;
    for (std::size_t j = i; j < usable; ++j) total += std::max(0.0, c[j].weight);
    if (total <= 0) break;
    double pick = std::uniform_real_distribution<double>(0.0, total)(rng());
    std::size_t chosen = usable - 1;
    for (std::size_t j = i; j < usable; ++j) {
      pick -= std::max(0.0, c[j].weight);
      if (pick < 0) {
        chosen = j;
        break;
      }
    }
    if (chosen != i) std::swap(c[i], c[chosen]);
  }
}

}  // namespace cnai
