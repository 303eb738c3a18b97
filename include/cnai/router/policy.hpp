// Routing policies: each a small class that ranks the members of a group
// (deployments or nested groups) for one request, and may rule some out with a
// reason. Groups nest, so policies compose: overflow(local, cost(a, b)).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cnai/api/backend.hpp"
#include "cnai/api/types.hpp"
#include "cnai/core/error.hpp"

namespace cnai {

/// What a policy sees of one member of a group for the request being routed.
/// For a nested group the figures are those of the group's first usable
/// deployment (after the group's own policy ranked it).
struct RouteCandidate {
  std::string name;  // deployment name, or the group's name
  bool is_group = false;
  bool local = false;               // nothing leaves the machine
  double weight = 1;                // weighted policies
  double estimated_cost_usd = 0;    // this request's pre-call estimate
  double ttft_ms = 0;               // moving average of time to first token; 0: no sample yet
  double tokens_per_s = 0;          // moving average of completion tokens/s; 0: no sample yet
  int in_flight = 0;                // calls the router has running on it now
  int max_concurrency = 0;          // 0: unlimited
  std::int64_t context_window = 0;  // 0: unknown
  std::int64_t prompt_tokens = 0;   // this request's prompt as this deployment counts it
  BackendHealth health;             // the backend's own view (queue depth, running, wait)
  const BackendCapabilities* capabilities = nullptr;  // deployments only
  std::vector<std::string> tags;
  /// Non-empty: ruled out for this request, and why ("lacks tools", "cooling down for 12 s").
  std::string skipped;
  /// The code a request gets when every candidate is skipped for such reasons.
  ErrorCode skip_code = ErrorCode::unavailable;
  /// When a cooling-down candidate recovers (its breaker turns half-open); {}: not cooling.
  std::chrono::steady_clock::time_point available_at{};
  std::size_t index = 0;  // position in the group as configured
  std::size_t id = 0;     // the router's own id of the deployment (or of the group's member slot)
};

struct RouteContext {
  const ChatRequest& request;
  /// max_tokens of the request, else the router's assumption for estimates.
  std::int64_t expected_completion_tokens = 256;
};

class Policy {
 public:
  virtual ~Policy() = default;
  /// Its name in configs and errors ("ordered", "cost", ...).
  virtual std::string_view name() const noexcept = 0;
  /// Reorders `candidates`, most preferred first; may set `skipped`. The
  /// router then tries the unskipped ones in that order. Called from many
  /// threads at once: state of its own must be thread-safe.
  virtual void rank(std::vector<RouteCandidate>& candidates, const RouteContext& ctx) const = 0;
};

/// The order configured (priority fallback).
class OrderedPolicy final : public Policy {
 public:
  std::string_view name() const noexcept override { return "ordered"; }
  void rank(std::vector<RouteCandidate>& candidates, const RouteContext& ctx) const override;
};

/// Cheapest estimated cost first (a free local deployment costs 0); ties keep
/// the configured order. Deployments at their concurrency limit go last.
class CostPolicy final : public Policy {
 public:
  std::string_view name() const noexcept override { return "cost"; }
  void rank(std::vector<RouteCandidate>& candidates, const RouteContext& ctx) const override;
};

/// Lowest expected latency first: moving average of time to first token plus
/// expected tokens at the moving average of tokens/s. Candidates within
/// `tolerance` (a fraction) of the best count as equally fast and are shuffled,
/// spreading load; deployments without samples come first, to get some.
class LatencyPolicy final : public Policy {
 public:
  explicit LatencyPolicy(double tolerance = 0.1) : tolerance_(tolerance) {}
  std::string_view name() const noexcept override { return "latency"; }
  void rank(std::vector<RouteCandidate>& candidates, const RouteContext& ctx) const override;

 private:
  double tolerance_;
};

/// Fewest calls in flight (the router's count plus the backend's own queue) first.
class LeastBusyPolicy final : public Policy {
 public:
  std::string_view name() const noexcept override { return "least_busy"; }
  void rank(std::vector<RouteCandidate>& candidates, const RouteContext& ctx) const override;
};

/// The "serverless for peaks" pattern: the first `primary_count` members (the
/// local model) while their queue is short, the others once a primary's queue
/// depth reaches `max_queue_depth` or its estimated wait `max_wait`, and back
/// once every primary's depth is at or below `resume_queue_depth`.
struct OverflowOptions {
  int primary_count = 1;
  int max_queue_depth = 4;
  std::chrono::milliseconds max_wait{0};  // 0: not used
  int resume_queue_depth = 1;
};
class OverflowPolicy final : public Policy {
 public:
  explicit OverflowPolicy(OverflowOptions options = {}) : options_(options) {}
  std::string_view name() const noexcept override { return "overflow"; }
  void rank(std::vector<RouteCandidate>& candidates, const RouteContext& ctx) const override;
  bool overflowing() const noexcept { return overflowing_.load(std::memory_order_relaxed); }
  /// A primary's queue depth as the policy judges it: the backend's own
  /// queue, or the router's calls in flight beyond its capacity (what it
  /// serves at once, as a local engine reports it; otherwise beyond those it
  /// runs, at least one).
  static int queue_depth(const RouteCandidate& c) noexcept;

 private:
  OverflowOptions options_;
  mutable std::atomic<bool> overflowing_{false};
};

/// Random order, each next member drawn with probability proportional to its weight.
class WeightedRandomPolicy final : public Policy {
 public:
  std::string_view name() const noexcept override { return "weighted"; }
  void rank(std::vector<RouteCandidate>& candidates, const RouteContext& ctx) const override;
};

/// The host's own: a function that ranks (and may skip) as a Policy does.
class CallbackPolicy final : public Policy {
 public:
  using Fn = std::function<void(std::vector<RouteCandidate>&, const RouteContext&)>;
  explicit CallbackPolicy(Fn fn, std::string name = "callback") : fn_(std::move(fn)), name_(std::move(name)) {}
  std::string_view name() const noexcept override { return name_; }
  void rank(std::vector<RouteCandidate>& candidates, const RouteContext& ctx) const override { fn_(candidates, ctx); }

 private:
  Fn fn_;
  std::string name_;
};

/// Pre-call check: skips deployments whose capabilities lack what the request
/// needs (tools, JSON output, images, streaming). The router applies it first.
class CapabilityFilter final : public Policy {
 public:
  std::string_view name() const noexcept override { return "capabilities"; }
  void rank(std::vector<RouteCandidate>& candidates, const RouteContext& ctx) const override;
};

/// Pre-call check: skips deployments whose context window cannot hold the
/// prompt plus the expected completion (local prompts counted exactly with the
/// local tokenizer, remote ones estimated).
class ContextWindowFilter final : public Policy {
 public:
  std::string_view name() const noexcept override { return "context_window"; }
  void rank(std::vector<RouteCandidate>& candidates, const RouteContext& ctx) const override;
};

/// A rule on request metadata (ChatRequest::metadata; the key "user" also
/// matches ChatRequest::user): when every `match` pair equals, `action` applies.
struct MetadataRule {
  enum class Action {
    local_only,     // only local deployments, even when they fail: nothing leaves the machine
    prefer_local,   // local deployments first, the rest after them
    prefer_remote,  // remote deployments first
    only,           // only the deployments listed in `deployments`
    exclude,        // never the deployments listed in `deployments`
  };
  std::map<std::string, std::string> match;
  Action action = Action::prefer_local;
  std::vector<std::string> deployments;
  bool matches(const ChatRequest& request) const;
};
std::string_view to_string(MetadataRule::Action a) noexcept;

/// Applies every matching rule, in order, to the flattened list of deployments.
class MetadataRulesPolicy final : public Policy {
 public:
  explicit MetadataRulesPolicy(std::vector<MetadataRule> rules) : rules_(std::move(rules)) {}
  std::string_view name() const noexcept override { return "rules"; }
  void rank(std::vector<RouteCandidate>& candidates, const RouteContext& ctx) const override;
  const std::vector<MetadataRule>& rules() const noexcept { return rules_; }

 private:
  std::vector<MetadataRule> rules_;
};

/// The policy a config names ("ordered", "cost", "latency", "least_busy",
/// "overflow", "weighted"), with its defaults. Error(invalid_argument) otherwise.
std::shared_ptr<Policy> make_policy(std::string_view name);

}  // namespace cnai
