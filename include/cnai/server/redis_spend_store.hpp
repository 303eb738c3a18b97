// RedisSpendStore — the router's budget counters in Redis, so server
// replicas (and `cnai worker`s) sharing one Redis share every budget: each
// reserve and commit is one Lua script, atomic on the Redis server, so two
// replicas never overspend together. Thread-safe; a pool of connections.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cnai/router/budget.hpp"

namespace cnai {

struct RedisSpendStoreOptions {
  std::chrono::milliseconds connect_timeout{2000};
  /// Longest wait for one reply: a stalled Redis refuses the request
  /// (unavailable) instead of holding it. A reservation whose reply came too
  /// late may still be booked; it then counts until its key expires (the
  /// budget underspends, never over).
  std::chrono::milliseconds command_timeout{2000};
  std::string key_prefix{};  // before the router's own keys ("cnai:budget:...")
};

class RedisSpendStore final : public SpendStore {
 public:
  /// `url`: redis://[[user]:password@]host[:port][/db]. Connects once to
  /// check: Error(invalid_argument) for a bad URL, Error(unavailable) when
  /// Redis cannot be reached. Later calls that cannot reach Redis throw
  /// Error(unavailable): a request is refused rather than spent unchecked.
  explicit RedisSpendStore(const std::string& url, RedisSpendStoreOptions options = {});
  ~RedisSpendStore() override;

  bool try_reserve(const std::string& key, double amount, double limit, std::chrono::seconds ttl) override;
  void commit(const std::string& key, double reserved, double actual, std::chrono::seconds ttl) override;
  double spent(const std::string& key) const override;
  /// Reserved and not yet committed under `key` (for tests and `cnai router`).
  double reserved(const std::string& key) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A SpendStore from a URL: "redis://..." -> RedisSpendStore; "memory" or ""
/// -> InMemorySpendStore. Error(invalid_argument) for anything else.
std::shared_ptr<SpendStore> open_spend_store(const std::string& url);

}  // namespace cnai
