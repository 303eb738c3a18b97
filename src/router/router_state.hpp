// What a Router holds: its deployments' live state (breaker, limits, moving
// averages, metrics), the compiled alias trees, budgets, and the watchdog.
// Built once by Router::create; everything mutable is thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

#include "cnai/router/router.hpp"
#include "router/budget_book.hpp"
#include "router/rate_window.hpp"
#include "router/router_metrics.hpp"
#include "router/watchdog.hpp"

namespace cnai::router {

/// Wakes requests waiting for a deployment's call slot (every candidate at
/// its max_concurrency, RouterSpec::max_wait allowing) when any call of the
/// router frees one. A waiter re-checks the deployments themselves, so a
/// wake-up meant for another, or its own attempt's, costs one check. Freeing
/// a slot costs one atomic load, and a notify only while someone waits.
/// (Slots are decremented with seq_cst before released(); the waiter counts
/// itself in before it checks: one of the two sees the other.)
class SlotSignal {
 public:
  void released() {
    if (waiters_.load(std::memory_order_seq_cst) > 0) {
      { std::lock_guard lock(m_); }
      cv_.notify_all();
    }
  }
  /// Until `ready()`, `until` passes or `stop` is requested.
  template <class TimePoint, class Ready>
  void wait(Ready ready, TimePoint until, std::stop_token stop) {
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    {
      std::unique_lock lock(m_);
      cv_.wait_until(lock, stop, until, ready);
    }
    waiters_.fetch_sub(1, std::memory_order_seq_cst);
  }

 private:
  std::atomic<int> waiters_{0};
  std::mutex m_;
  std::condition_variable_any cv_;
};

/// A moving average (exponentially weighted) that knows whether it has a sample.
class MovingAverage {
 public:
  void add(double v) noexcept;
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

struct DeploymentState {
  Deployment spec;
  std::size_t id = 0;
  BackendCapabilities caps;     // snapshot at build (context window, local, as configured)
  std::string provider;         // gen_ai.provider.name
  std::string model_label;      // gen_ai.request.model
  LocalEngine* local_engine = nullptr;  // exact prompt counts when local
  std::optional<ModelPrice> price;       // configured, else from the client's table
  CircuitBreaker breaker;
  RateWindow requests_window, tokens_window;
  std::atomic<int> in_flight{0};
  MovingAverage ttft_ms, tokens_per_s;
  DeploymentMetrics metrics;

  explicit DeploymentState(Deployment d) : spec(std::move(d)), breaker(spec.breaker) {}
  bool is_local() const noexcept { return caps.local; }
  /// Frees one of the calls counted in in_flight and wakes a request waiting
  /// for a slot (the decrement comes first: see SlotSignal).
  void release_slot(SlotSignal& slots) {
    in_flight.fetch_sub(1, std::memory_order_seq_cst);
    slots.released();
  }
  bool free() const noexcept { return !price || (price->input_per_million <= 0 && price->output_per_million <= 0); }
};

struct CompiledGroup {
  std::string name;
  std::shared_ptr<Policy> policy;
  struct Member {
    DeploymentState* deployment = nullptr;
    std::unique_ptr<CompiledGroup> group;
    double weight = 1;
  };
  std::vector<Member> members;
};

struct AliasState {
  std::string name;
  CompiledGroup root;
  std::unique_ptr<MetadataRulesPolicy> rules;  // router-wide rules then the alias's; null: none
  std::optional<ResponseCacheOptions> cache;   // its store set; unset: no cache
  AliasMetrics metrics;
  ~AliasState();
};

}  // namespace cnai::router

namespace cnai {

struct Router::Impl {
  RouterSpec spec;
  std::vector<std::unique_ptr<router::DeploymentState>> deployments;
  std::unordered_map<std::string, router::DeploymentState*> by_name;
  std::vector<std::unique_ptr<router::AliasState>> aliases;
  std::unordered_map<std::string, router::AliasState*> alias_by_name;
  router::AliasState* default_alias = nullptr;
  /// Requests that name a deployment directly: a one-member ordered group each.
  std::unordered_map<std::string, std::unique_ptr<router::AliasState>> direct;
  std::unique_ptr<router::BudgetBook> budgets;
  router::Watchdog watchdog;
  router::SlotSignal slots;  // deployments' call slots freed, for requests waiting on max_concurrency
  router::Histogram overhead{router::overhead_bounds()};
  CapabilityFilter capability_filter;
  ContextWindowFilter context_filter;
};

}  // namespace cnai
