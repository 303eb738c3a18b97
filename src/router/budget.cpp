// InMemorySpendStore and the budget bookkeeping of the router.
#include <fmt/format.h>

#include <ctime>

#include "cnai/api/types.hpp"
#include "router/budget_book.hpp"

namespace cnai {

std::string_view to_string(BudgetPeriod p) noexcept {
  switch (p) {
    case BudgetPeriod::hour: return "hour";
    case BudgetPeriod::day: return "day";
    case BudgetPeriod::month: return "month";
    case BudgetPeriod::total: return "total";
  }
  return "unknown";
}
std::string_view to_string(BudgetScope s) noexcept {
  switch (s) {
    case BudgetScope::global: return "global";
    case BudgetScope::deployment: return "deployment";
    case BudgetScope::user: return "user";
    case BudgetScope::tag: return "tag";
  }
  return "unknown";
}
std::string_view to_string(BudgetAction a) noexcept {
  switch (a) {
    case BudgetAction::refuse: return "refuse";
    case BudgetAction::reroute_local: return "reroute_local";
    case BudgetAction::next: return "next";
  }
  return "unknown";
}

void InMemorySpendStore::sweep_locked(std::chrono::steady_clock::time_point now) {
  if (entries_.size() < sweep_at_) return;
  std::erase_if(entries_, [&](const auto& kv) { return kv.second.expires < now && kv.second.reserved <= 0; });
  sweep_at_ = std::max<std::size_t>(1024, entries_.size() * 2);
}

bool InMemorySpendStore::try_reserve(const std::string& key, double amount, double limit, std::chrono::seconds ttl) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  sweep_locked(now);
  Entry& e = entries_[key];
  e.expires = std::max(e.expires, now + ttl);
  if (e.spent + e.reserved + amount > limit) return false;
  e.reserved += amount;
  return true;
}

void InMemorySpendStore::commit(const std::string& key, double reserved, double actual, std::chrono::seconds ttl) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  Entry& e = entries_[key];
  e.reserved = std::max(0.0, e.reserved - reserved);
  e.spent += actual;
  e.expires = std::max(e.expires, now + ttl);
}

double InMemorySpendStore::spent(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  return it == entries_.end() ? 0.0 : it->second.spent;
}

}  // namespace cnai

namespace cnai::router {

std::string period_label(BudgetPeriod p, std::chrono::system_clock::time_point now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  switch (p) {
    case BudgetPeriod::hour: return fmt::format("{:04}-{:02}-{:02}T{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour);
    case BudgetPeriod::day: return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    case BudgetPeriod::month: return fmt::format("{:04}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1);
    case BudgetPeriod::total: return "all";
  }
  return "all";
}

std::chrono::seconds period_ttl(BudgetPeriod p) {
  switch (p) {
    case BudgetPeriod::hour: return std::chrono::hours(2);
    case BudgetPeriod::day: return std::chrono::hours(48);
    case BudgetPeriod::month: return std::chrono::hours(24 * 62);
    case BudgetPeriod::total: return std::chrono::hours(24 * 365 * 10);
  }
  return std::chrono::hours(48);
}

BudgetBook::BudgetBook(std::vector<BudgetSpec> budgets, std::shared_ptr<SpendStore> store)
    : budgets_(std::move(budgets)), store_(store ? std::move(store) : std::make_shared<InMemorySpendStore>()) {}

namespace {

// The scope value of a call under `b`; nullopt when the budget does not apply.
std::optional<std::string> scope_value(const BudgetSpec& b, const std::string& deployment, const ChatRequest& r) {
  switch (b.scope) {
    case BudgetScope::global: return std::string();
    case BudgetScope::deployment:
      if (deployment != b.target) return std::nullopt;
      return std::string();
    case BudgetScope::user: {
      if (!r.user) return std::nullopt;
      if (!b.match.empty() && *r.user != b.match) return std::nullopt;
      return *r.user;
    }
    case BudgetScope::tag: {
      auto it = r.metadata.find(b.target);
      if (it == r.metadata.end()) return std::nullopt;
      if (!b.match.empty() && it->second != b.match) return std::nullopt;
      return it->second;
    }
  }
  return std::nullopt;
}

std::string key_for(const BudgetSpec& b, const std::string& value, std::chrono::system_clock::time_point now) {
  return "cnai:budget:" + b.name + ":" + value + ":" + period_label(b.period, now);
}

}  // namespace

std::optional<BudgetRefusal> BudgetBook::reserve(const std::string& deployment, const ChatRequest& request,
                                                 double estimate, BudgetHold& hold) const {
  hold = {};
  hold.reserved = estimate;
  const auto now = std::chrono::system_clock::now();
  for (const BudgetSpec& b : budgets_) {
    auto value = scope_value(b, deployment, request);
    if (!value) continue;
    std::string key = key_for(b, *value, now);
    const auto ttl = period_ttl(b.period);
    if (!store_->try_reserve(key, estimate, b.limit_usd, ttl)) {
      commit(hold, 0);  // what the earlier budgets took back
      hold = {};
      BudgetRefusal r;
      r.budget = &b;
      r.message = fmt::format("budget '{}' ({} USD per {}{}) cannot take this call's estimated {:.6f} USD on {}", b.name,
                              b.limit_usd, to_string(b.period), value->empty() ? "" : " for '" + *value + "'", estimate,
                              deployment);
      return r;
    }
    hold.keys.push_back({std::move(key), ttl});
  }
  return std::nullopt;
}

void BudgetBook::commit(const BudgetHold& hold, double actual) const {
  for (const auto& k : hold.keys) store_->commit(k.key, hold.reserved, actual, k.ttl);
}

double BudgetBook::spent(const std::string& budget, const std::string& value) const {
  for (const BudgetSpec& b : budgets_)
    if (b.name == budget) return store_->spent(key_for(b, value, std::chrono::system_clock::now()));
  return 0;
}

}  // namespace cnai::router
