// RedisSpendStore: a budget key is a hash {spent, reserved} with the key's
// period as its TTL. Reserve and commit are Lua scripts (EVAL: atomic on
// the server, and no script cache to lose when Redis restarts). Amounts
// travel as "%.17g" text; HINCRBYFLOAT keeps them as long doubles.
#include "cnai/server/redis_spend_store.hpp"

#include <fmt/format.h>

#include <cstdlib>

#include "cnai/core/error.hpp"
#include "server/redis_connection.hpp"

namespace cnai {
namespace {

// KEYS[1] budget key; ARGV amount, limit, ttl seconds. 1: reserved, 0: over the limit.
constexpr const char* kReserve = R"lua(
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
local ttl = tonumber(ARGV[3])
if spent + reserved + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBYFLOAT', KEYS[1], 'reserved', ARGV[1])
if redis.call('TTL', KEYS[1]) < ttl then redis.call('EXPIRE', KEYS[1], ttl) end
return 1
)lua";

// KEYS[1] budget key; ARGV -reserved, actual, ttl seconds. A reservation is
// never released below zero (a commit after the key expired mid-call).
constexpr const char* kCommit = R"lua(
local left = tonumber(redis.call('HINCRBYFLOAT', KEYS[1], 'reserved', ARGV[1]))
if left < 0 then redis.call('HSET', KEYS[1], 'reserved', '0') end
redis.call('HINCRBYFLOAT', KEYS[1], 'spent', ARGV[2])
local ttl = tonumber(ARGV[3])
if redis.call('TTL', KEYS[1]) < ttl then redis.call('EXPIRE', KEYS[1], ttl) end
return 1
)lua";

std::string number(double x) { return fmt::format("{:.17g}", x); }

double to_double(const redisReply* r) {
  const std::string text = server::reply_text(r);
  return text.empty() ? 0.0 : std::strtod(text.c_str(), nullptr);
}

}  // namespace

struct RedisSpendStore::Impl {
  RedisSpendStoreOptions options;
  mutable server::RedisPool pool;
  Impl(const std::string& url, RedisSpendStoreOptions o)
      : options(std::move(o)), pool(server::RedisUrl::parse(url), options.connect_timeout, options.command_timeout) {}
  std::string key(const std::string& k) const { return options.key_prefix + k; }
  double field(const std::string& k, const char* name) const {
    auto c = pool.get();
    return to_double(c->command({"HGET", key(k), name}).get());
  }
};

RedisSpendStore::RedisSpendStore(const std::string& url, RedisSpendStoreOptions options)
    : impl_(std::make_unique<Impl>(url, std::move(options))) {
  auto c = impl_->pool.get();  // reachable now, or Error(unavailable) at start-up rather than at the first request
  c->command({"PING"});
}

RedisSpendStore::~RedisSpendStore() = default;

bool RedisSpendStore::try_reserve(const std::string& key, double amount, double limit, std::chrono::seconds ttl) {
  auto c = impl_->pool.get();
  auto r = c->command({"EVAL", kReserve, "1", impl_->key(key), number(amount), number(limit),
                       std::to_string(std::max<std::int64_t>(1, ttl.count()))});
  return server::reply_int(r.get()) == 1;
}

void RedisSpendStore::commit(const std::string& key, double reserved, double actual, std::chrono::seconds ttl) {
  const std::vector<std::string> cmd{"EVAL", kCommit, "1", impl_->key(key), number(-reserved), number(actual),
                                     std::to_string(std::max<std::int64_t>(1, ttl.count()))};
  // A served call is not failed for its booking: retry once on a new
  // connection, then give up. The reservation then stays in Redis and counts
  // against the limit until the key expires, so a lost commit underspends.
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      auto c = impl_->pool.get();
      c->command(cmd);
      return;
    } catch (const Error&) {
    }
  }
}

double RedisSpendStore::spent(const std::string& key) const { return impl_->field(key, "spent"); }

double RedisSpendStore::reserved(const std::string& key) const { return impl_->field(key, "reserved"); }

std::shared_ptr<SpendStore> open_spend_store(const std::string& url) {
  if (url.empty() || url == "memory") return std::make_shared<InMemorySpendStore>();
  if (url.starts_with("redis://")) return std::make_shared<RedisSpendStore>(url);
  throw Error(ErrorCode::invalid_argument,
              fmt::format("budget store '{}': expected redis://host:port[/db] or memory", url));
}

}  // namespace cnai
