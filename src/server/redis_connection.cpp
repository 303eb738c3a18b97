// hiredis wrapper: every failure becomes Error(unavailable) naming the command.
#include "server/redis_connection.hpp"

#include <fmt/format.h>

#include <charconv>

#include "cnai/core/error.hpp"

namespace cnai::server {

RedisUrl RedisUrl::parse(std::string_view url) {
  constexpr std::string_view scheme = "redis://";
  if (!url.starts_with(scheme)) throw Error(ErrorCode::invalid_argument, fmt::format("not a redis:// URL: '{}'", url));
  std::string_view rest = url.substr(scheme.size());
  RedisUrl out;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    auto colon = cred.find(':');
    out.password = std::string(colon == std::string_view::npos ? cred : cred.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && std::from_chars(db.data(), db.data() + db.size(), out.db).ec != std::errc()) {
      throw Error(ErrorCode::invalid_argument, fmt::format("redis URL '{}': bad database number", url));
    }
    rest = rest.substr(0, slash);
  }
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    std::string_view port = rest.substr(colon + 1);
    if (std::from_chars(port.data(), port.data() + port.size(), out.port).ec != std::errc() || out.port <= 0 ||
        out.port > 65535) {
      throw Error(ErrorCode::invalid_argument, fmt::format("redis URL '{}': bad port", url));
    }
    rest = rest.substr(0, colon);
  }
  if (!rest.empty()) out.host = std::string(rest);
  return out;
}

namespace {
timeval to_timeval(std::chrono::milliseconds t) {
  return {static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>((t.count() % 1000) * 1000)};
}
}  // namespace

RedisConnection::RedisConnection(const RedisUrl& url, std::chrono::milliseconds timeout,
                                 std::chrono::milliseconds command_timeout) {
  ctx_ = redisConnectWithTimeout(url.host.c_str(), url.port, to_timeval(timeout));  // bounds the connect only
  if (ctx_ && !ctx_->err && command_timeout.count() > 0) redisSetTimeout(ctx_, to_timeval(command_timeout));
  if (!ctx_ || ctx_->err) {
    std::string msg = ctx_ ? ctx_->errstr : "out of memory";
    if (ctx_) redisFree(ctx_);
    throw Error(ErrorCode::unavailable, fmt::format("redis {}:{}: {}", url.host, url.port, msg));
  }
  try {
    if (!url.password.empty()) command({"AUTH", url.password});
    if (url.db != 0) command({"SELECT", std::to_string(url.db)});
  } catch (...) {
    redisFree(ctx_);  // no destructor runs for a constructor that throws
    throw;
  }
}

RedisConnection::~RedisConnection() { redisFree(ctx_); }

RedisReply RedisConnection::command_raw(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(redisCommandArgv(ctx_, static_cast<int>(args.size()), argv.data(), lens.data()));
  if (!r) {
    broken_ = true;
    throw Error(ErrorCode::unavailable, fmt::format("redis {}: {}", args.empty() ? "" : args[0], ctx_->errstr));
  }
  return RedisReply(r);
}

RedisReply RedisConnection::command(const std::vector<std::string>& args) {
  RedisReply r = command_raw(args);
  if (r->type == REDIS_REPLY_ERROR) {
    throw Error(ErrorCode::unavailable, fmt::format("redis {}: {}", args[0], std::string_view(r->str, r->len)));
  }
  return r;
}

std::vector<RedisReply> RedisConnection::pipeline(const std::vector<std::vector<std::string>>& commands) {
  for (const auto& args : commands) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(args.size()), argv.data(), lens.data()) != REDIS_OK) {
      broken_ = true;
      throw Error(ErrorCode::unavailable, fmt::format("redis pipeline: {}", ctx_->errstr));
    }
  }
  std::vector<RedisReply> out;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK) {
      broken_ = true;
      throw Error(ErrorCode::unavailable, fmt::format("redis pipeline: {}", ctx_->errstr));
    }
    out.emplace_back(static_cast<redisReply*>(raw));
    if (out.back()->type == REDIS_REPLY_ERROR) {
      throw Error(ErrorCode::unavailable,
                  fmt::format("redis {}: {}", commands[i][0], std::string_view(out.back()->str, out.back()->len)));
    }
  }
  return out;
}

RedisPool::RedisPool(RedisUrl url, std::chrono::milliseconds connect_timeout, std::chrono::milliseconds command_timeout)
    : url_(std::move(url)), timeout_(connect_timeout), command_timeout_(command_timeout) {}

RedisPool::Lease::~Lease() {
  if (!conn_ || conn_->broken()) return;
  std::lock_guard lock(pool_->mutex_);
  pool_->idle_.push_back(std::move(conn_));
}

RedisPool::Lease RedisPool::get() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(c));
    }
  }
  return Lease(*this, std::make_unique<RedisConnection>(url_, timeout_, command_timeout_));
}

void RedisPool::clear() {
  std::vector<std::unique_ptr<RedisConnection>> closing;
  {
    std::lock_guard lock(mutex_);
    closing.swap(idle_);
  }
}

std::string reply_text(const redisReply* r) {
  if (!r) return {};
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      return std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    default:
      return {};
  }
}

std::int64_t reply_int(const redisReply* r) {
  if (!r) return 0;
  if (r->type == REDIS_REPLY_INTEGER) return r->integer;
  if (r->type == REDIS_REPLY_STRING) {
    std::int64_t v = 0;
    std::from_chars(r->str, r->str + r->len, v);
    return v;
  }
  return 0;
}

}  // namespace cnai::server
