// BudgetBook: which budgets a call falls under, their SpendStore keys for the
// current period, and the reserve -> commit protocol around one attempt.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cnai/router/budget.hpp"

namespace cnai::router {

struct BudgetHold {
  struct Key {
    std::string key;
    std::chrono::seconds ttl{0};
  };
  std::vector<Key> keys;
  double reserved = 0;
};

struct BudgetRefusal {
  const BudgetSpec* budget = nullptr;
  std::string message;  // names the budget, its limit and period
};

class BudgetBook {
 public:
  BudgetBook(std::vector<BudgetSpec> budgets, std::shared_ptr<SpendStore> store);
  bool empty() const noexcept { return budgets_.empty(); }
  /// Reserves `estimate` under every budget the call falls under; on the first
  /// that cannot take it, releases what was reserved and says which refused.
  std::optional<BudgetRefusal> reserve(const std::string& deployment, const ChatRequest& request, double estimate,
                                       BudgetHold& hold) const;
  void commit(const BudgetHold& hold, double actual) const;
  /// Spent so far under `budget` for `scope_value` (user, tag value; empty for global/deployment).
  double spent(const std::string& budget, const std::string& scope_value = "") const;
  const std::vector<BudgetSpec>& budgets() const noexcept { return budgets_; }
  SpendStore& store() const noexcept { return *store_; }

 private:
  std::vector<BudgetSpec> budgets_;
  std::shared_ptr<SpendStore> store_;
};

/// "2026-12-02T06" (hour), "2026-12-02" (day), "2026-12" (month), "all" (total), UTC.
std::string period_label(BudgetPeriod p, std::chrono::system_clock::time_point now);
std::chrono::seconds period_ttl(BudgetPeriod p);

}  // namespace cnai::router
