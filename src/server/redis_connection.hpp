// A blocking Redis connection over hiredis: binary-safe commands from
// string arguments, replies owned by RAII, and a small pool so threads do
// not share a connection (a BLOCKing read holds one for its duration).
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace cnai::server {

struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  int db = 0;
  /// redis://[[user]:password@]host[:port][/db]; Error(invalid_argument) otherwise.
  static RedisUrl parse(std::string_view url);
};

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using RedisReply = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisConnection {
 public:
  /// Connects (bounded by `timeout`), authenticates and selects the database.
  /// Error(unavailable) when Redis cannot be reached. A `command_timeout`
  /// above zero bounds each reply's wait (a timed-out connection is broken());
  /// zero waits as long as Redis takes (a BLOCKing read needs that).
  RedisConnection(const RedisUrl& url, std::chrono::milliseconds timeout,
                  std::chrono::milliseconds command_timeout = std::chrono::milliseconds{0});
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  /// Runs one command. A connection error -> Error(unavailable) (and the
  /// connection is broken()); an error reply -> Error(unavailable) with its text.
  RedisReply command(const std::vector<std::string>& args);
  /// Same, but an error reply is returned instead of thrown.
  RedisReply command_raw(const std::vector<std::string>& args);
  /// Sends every command, then reads every reply (one round trip).
  std::vector<RedisReply> pipeline(const std::vector<std::vector<std::string>>& commands);
  bool broken() const { return broken_; }

 private:
  redisContext* ctx_ = nullptr;
  bool broken_ = false;
};

/// Hands out connections, making new ones as needed; broken ones are dropped.
class RedisPool {
 public:
  RedisPool(RedisUrl url, std::chrono::milliseconds connect_timeout,
            std::chrono::milliseconds command_timeout = std::chrono::milliseconds{0});

  class Lease {
   public:
    Lease(RedisPool& pool, std::unique_ptr<RedisConnection> c) : pool_(&pool), conn_(std::move(c)) {}
    ~Lease();
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    RedisConnection* operator->() { return conn_.get(); }

   private:
    RedisPool* pool_;
    std::unique_ptr<RedisConnection> conn_;
  };
  Lease get();
  /// Closes the idle connections (after a failure they are likely dead too,
  /// e.g. Redis restarted: the next get() connects afresh).
  void clear();

 private:
  RedisUrl url_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds command_timeout_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;
};

/// Reply helpers: a string/status/integer reply as text, an integer.
std::string reply_text(const redisReply* r);
std::int64_t reply_int(const redisReply* r);

}  // namespace cnai::server
