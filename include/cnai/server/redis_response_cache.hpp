// RedisResponseCache — the router's response cache in Redis, so server
// replicas (and `cnai worker`s) sharing one Redis answer a request any of them
// has answered: GET and SET ... PX under a key prefix. A cache that fails
// open: a Redis down or slow (every wait bounded) costs a miss, never a
// request. Thread-safe; a pool of connections.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "cnai/router/response_cache.hpp"

namespace cnai {

struct RedisResponseCacheOptions {
  std::string key_prefix{};  // before the router's own keys (which start cnai:cache:ALIAS:)
  std::size_t max_value_bytes = std::size_t{1} << 20;  // larger responses are not stored
  std::chrono::milliseconds connect_timeout{200};
  std::chrono::milliseconds command_timeout{200};      // each reply's wait
  /// After a failure, Redis is left alone this long (every call a miss or a
  /// dropped store), so a Redis that is down costs no request a timeout.
  std::chrono::milliseconds retry_after{1000};
};

class RedisResponseCache final : public ResponseCacheStore {
 public:
  /// `url`: redis://[[user]:password@]host[:port][/db]; Error(invalid_argument)
  /// for a bad one. Does not connect: a Redis not up yet is only misses.
  explicit RedisResponseCache(const std::string& url, RedisResponseCacheOptions options = {});
  ~RedisResponseCache() override;

  /// Never throws for Redis: an unreachable, slow or failing one is nullopt
  /// (counted in errors()).
  std::optional<std::string> get(const std::string& key) override;
  /// Dropped (counted) when Redis fails, when the value is larger than
  /// max_value_bytes, or when `ttl` is not positive.
  void put(const std::string& key, std::string value, std::chrono::milliseconds ttl) override;

  /// PING within the timeouts (for a warning at start-up); counts nothing.
  bool reachable();

  std::uint64_t hits() const;
  std::uint64_t misses() const;     // Redis answered: no such key
  std::uint64_t errors() const;     // calls Redis did not answer (failed, timed out, or skipped while retry_after runs)
  std::uint64_t oversized() const;  // values not stored for their size
  std::string last_error() const;   // the latest failure's message, "" if none yet

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A ResponseCacheStore from a URL: "redis://..." -> RedisResponseCache;
/// "" or "memory" -> null (each cached alias keeps its own in memory).
/// Error(invalid_argument) for anything else.
std::shared_ptr<ResponseCacheStore> open_response_cache_store(const std::string& url,
                                                              RedisResponseCacheOptions options = {});

}  // namespace cnai
