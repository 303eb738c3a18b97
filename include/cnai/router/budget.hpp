// Budgets: spend limits per deployment, per user or API-key tag, or overall,
// per hour/day/month. A call reserves its pre-call estimate (so concurrent
// calls cannot overshoot together) and books its actual cost afterwards.
// SpendStore is where spend lives: in memory here; a shared store (Redis)
// implements the same interface for replicas that share one budget.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "cnai/api/types.hpp"
#include "cnai/core/error.hpp"

namespace cnai {

enum class BudgetPeriod { hour, day, month, total };
enum class BudgetScope {
  global,      // every call the router makes
  deployment,  // calls to one deployment (`target`)
  user,        // per ChatRequest::user (`match` set: that user only)
  tag,         // per value of metadata key `target` (an API-key tag; `match` set: that value only)
};
enum class BudgetAction {
  refuse,         // the request fails with budget_exceeded
  reroute_local,  // only free local deployments may serve it
  next,           // this deployment is skipped, the next is tried
};

std::string_view to_string(BudgetPeriod p) noexcept;
std::string_view to_string(BudgetScope s) noexcept;
std::string_view to_string(BudgetAction a) noexcept;

struct BudgetSpec {
  std::string name;
  BudgetScope scope = BudgetScope::global;
  std::string target;  // deployment name (scope deployment) or metadata key (scope tag)
  std::string match;   // user / tag value this budget is for; empty: each value has its own
  double limit_usd = 0;
  BudgetPeriod period = BudgetPeriod::day;
  BudgetAction action = BudgetAction::refuse;
};

/// Thread-safe spend counters by key (the router makes the keys: budget name,
/// scope value, period start). Amounts are USD.
class SpendStore {
 public:
  virtual ~SpendStore() = default;
  /// Adds `amount` to the key's reservations when spent + reserved + amount
  /// stays within `limit`; false (and nothing changes) otherwise. `ttl` bounds
  /// how long the key is kept (its period).
  virtual bool try_reserve(const std::string& key, double amount, double limit, std::chrono::seconds ttl) = 0;
  /// Releases a reservation of `reserved` and books `actual` as spent.
  virtual void commit(const std::string& key, double reserved, double actual, std::chrono::seconds ttl) = 0;
  /// Spent (booked) so far under `key`.
  virtual double spent(const std::string& key) const = 0;
};

class InMemorySpendStore final : public SpendStore {
 public:
  bool try_reserve(const std::string& key, double amount, double limit, std::chrono::seconds ttl) override;
  void commit(const std::string& key, double reserved, double actual, std::chrono::seconds ttl) override;
  double spent(const std::string& key) const override;

 private:
  struct Entry {
    double spent = 0;
    double reserved = 0;
    std::chrono::steady_clock::time_point expires;
  };
  void sweep_locked(std::chrono::steady_clock::time_point now);
  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::size_t sweep_at_ = 1024;
};

}  // namespace cnai
