// RedisResponseCache: one string key per entry, its TTL Redis's own (PX), so
// expiry needs no sweeping here. Every failure is caught and counted; after
// one, Redis is skipped for retry_after and the idle connections are closed
// (they likely died with it), so recovery starts from a fresh connect.
#include "cnai/server/redis_response_cache.hpp"

#include <fmt/format.h>

#include <atomic>
#include <mutex>

#include "cnai/core/error.hpp"
#include "server/redis_connection.hpp"

namespace cnai {

struct RedisResponseCache::Impl {
  using Clock = std::chrono::steady_clock;

  RedisResponseCacheOptions options;
  server::RedisPool pool;
  std::atomic<Clock::rep> skip_until{0};  // Clock ticks; 0: Redis is asked
  std::atomic<std::uint64_t> hits{0}, misses{0}, errors{0}, oversized{0};
  mutable std::mutex error_mutex;
  std::string last_error;

  Impl(const std::string& url, RedisResponseCacheOptions o)
      : options(std::move(o)),
        pool(server::RedisUrl::parse(url), options.connect_timeout, options.command_timeout) {}

  bool skipping() const { return Clock::now().time_since_epoch().count() < skip_until.load(std::memory_order_relaxed); }

  void failed(const std::string& message) {
    errors.fetch_add(1, std::memory_order_relaxed);
    skip_until.store((Clock::now() + options.retry_after).time_since_epoch().count(), std::memory_order_relaxed);
    pool.clear();
    std::lock_guard lock(error_mutex);
    last_error = message;
  }

  // One command on a pooled connection; nullptr when Redis did not answer it.
  server::RedisReply run(const std::vector<std::string>& command) {
    if (skipping()) {
      errors.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    try {
      auto c = pool.get();
      return c->command(command);
    } catch (const std::exception& e) {
      failed(e.what());
      return nullptr;
    }
  }
};

RedisResponseCache::RedisResponseCache(const std::string& url, RedisResponseCacheOptions options)
    : impl_(std::make_unique<Impl>(url, std::move(options))) {}

RedisResponseCache::~RedisResponseCache() = default;

std::optional<std::string> RedisResponseCache::get(const std::string& key) {
  server::RedisReply r = impl_->run({"GET", impl_->options.key_prefix + key});
  if (!r) return std::nullopt;
  if (r->type != REDIS_REPLY_STRING) {  // nil: absent or expired
    impl_->misses.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  impl_->hits.fetch_add(1, std::memory_order_relaxed);
  return std::string(r->str, r->len);
}

void RedisResponseCache::put(const std::string& key, std::string value, std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0) return;
  if (value.size() > impl_->options.max_value_bytes) {
    impl_->oversized.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  impl_->run({"SET", impl_->options.key_prefix + key, std::move(value), "PX", std::to_string(ttl.count())});
}

bool RedisResponseCache::reachable() {
  try {
    auto c = impl_->pool.get();
    return server::reply_text(c->command({"PING"}).get()) == "PONG";
  } catch (const std::exception& e) {
    std::lock_guard lock(impl_->error_mutex);
    impl_->last_error = e.what();
    return false;
  }
}

std::uint64_t RedisResponseCache::hits() const { return impl_->hits.load(); }
std::uint64_t RedisResponseCache::misses() const { return impl_->misses.load(); }
std::uint64_t RedisResponseCache::errors() const { return impl_->errors.load(); }
std::uint64_t RedisResponseCache::oversized() const { return impl_->oversized.load(); }

std::string RedisResponseCache::last_error() const {
  std::lock_guard lock(impl_->error_mutex);
  return impl_->last_error;
}

std::shared_ptr<ResponseCacheStore> open_response_cache_store(const std::string& url,
                                                              RedisResponseCacheOptions options) {
  if (url.empty() || url == "memory") return nullptr;
  if (url.starts_with("redis://")) return std::make_shared<RedisResponseCache>(url, std::move(options));
  throw Error(ErrorCode::invalid_argument,
              fmt::format("response cache store '{}': expected redis://host:port[/db] or memory", url));
}

}  // namespace cnai
