// ResponseCacheStore — where a router alias's response cache lives. The router
// makes the keys (a hash of the normalised request, the serving deployment's
// model and the caller's API-key tag) and the values (the response as text);
// a store only keeps strings for a while. In memory here, bounded by entries
// and bytes with a TTL; a shared store (Redis, in the server layer) implements
// the same interface so replicas share one cache.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "cnai/core/error.hpp"

namespace cnai {

/// Thread-safe: many requests look up and store at once. A store may forget
/// anything at any time (eviction, restart); the router then simply asks the
/// deployment again.
class ResponseCacheStore {
 public:
  virtual ~ResponseCacheStore() = default;
  /// The value under `key`; nullopt when absent or older than its TTL.
  virtual std::optional<std::string> get(const std::string& key) = 0;
  /// Keeps `value` under `key` for `ttl`, replacing what was there.
  virtual void put(const std::string& key, std::string value, std::chrono::milliseconds ttl) = 0;
};

struct InMemoryResponseCacheOptions {
  std::size_t max_entries = 1000;
  std::size_t max_bytes = std::size_t{64} << 20;  // keys and values
};

/// Least recently used entries go first when a bound would be passed; expired
/// ones are dropped when met. A value larger than max_bytes is not kept.
class InMemoryResponseCache final : public ResponseCacheStore {
 public:
  explicit InMemoryResponseCache(InMemoryResponseCacheOptions options = {}) : options_(options) {}
  std::optional<std::string> get(const std::string& key) override;
  void put(const std::string& key, std::string value, std::chrono::milliseconds ttl) override;

  std::size_t size() const;
  std::size_t bytes() const;
  std::uint64_t evictions() const;  // dropped to stay within a bound (not expiries)

 private:
  struct Entry {
    std::string key;
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  void erase_locked(std::list<Entry>::iterator it);

  InMemoryResponseCacheOptions options_;
  mutable std::mutex mutex_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  std::size_t bytes_ = 0;
  std::uint64_t evictions_ = 0;
};

}  // namespace cnai
