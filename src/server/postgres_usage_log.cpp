// PostgresUsageLog: a writer thread drains a bounded queue into one
// multi-row INSERT per batch (parameters, never text-spliced values);
// a lost connection is re-opened on the next batch.
#include <fmt/format.h>
#include <libpq-fe.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/server/usage_log.hpp"

namespace cnai {

namespace {

struct PgConn {
  PGconn* c = nullptr;
  ~PgConn() { PQfinish(c); }
};

void exec_or_throw(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  std::string err = ok ? "" : PQerrorMessage(c);
  PQclear(r);
  if (!ok) throw Error(ErrorCode::unavailable, fmt::format("postgres: {}", err));
}

bool valid_identifier(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char ch : s) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) return false;
  }
  return true;
}

}  // namespace

struct PostgresUsageLog::Impl {
  PostgresUsageOptions options;
  PgConn conn;
  std::mutex mutex;
  std::condition_variable cv, flushed;
  std::deque<UsageRecord> queue;
  std::uint64_t written = 0, dropped = 0, given = 0, done = 0;
  bool stopping = false;
  std::thread writer;

  void connect() {
    PQfinish(conn.c);
    conn.c = PQconnectdb(options.conninfo.c_str());
    if (PQstatus(conn.c) != CONNECTION_OK) {
      throw Error(ErrorCode::unavailable, fmt::format("postgres: cannot connect: {}", PQerrorMessage(conn.c)));
    }
  }

  void write_batch(const std::vector<UsageRecord>& batch) {
    if (PQstatus(conn.c) != CONNECTION_OK) connect();
    std::string sql = fmt::format(
        "INSERT INTO {} (at, api_key, user_id, route, model, backend, status, prompt_tokens, completion_tokens, "
        "cost_usd, latency_ms) VALUES ",
        options.table);
    std::vector<std::string> values;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const UsageRecord& r = batch[i];
      const std::size_t p = i * 11;
      sql += fmt::format("{}(to_timestamp(${}::double precision / 1000), ${}, ${}, ${}, ${}, ${}, ${}::int, ${}::bigint, "
                         "${}::bigint, ${}::double precision, ${}::double precision)",
                         i ? "," : "", p + 1, p + 2, p + 3, p + 4, p + 5, p + 6, p + 7, p + 8, p + 9, p + 10, p + 11);
      for (std::string v : {std::to_string(r.at_ms), r.api_key, r.user, r.route, r.model, r.backend,
                            std::to_string(r.status), std::to_string(r.prompt_tokens),
                            std::to_string(r.completion_tokens), fmt::format("{}", r.cost_usd),
                            fmt::format("{}", r.latency_ms)}) {
        values.push_back(std::move(v));
      }
    }
    std::vector<const char*> params;
    for (const auto& v : values) params.push_back(v.c_str());
    PGresult* res = PQexecParams(conn.c, sql.c_str(), static_cast<int>(params.size()), nullptr, params.data(), nullptr,
                                 nullptr, 0);
    const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    std::string err = ok ? "" : PQerrorMessage(conn.c);
    PQclear(res);
    if (!ok) throw Error(ErrorCode::unavailable, fmt::format("postgres insert: {}", err));
  }

  void run() {
    std::unique_lock lock(mutex);
    while (true) {
      cv.wait_for(lock, std::chrono::milliseconds(options.flush_interval_ms), [&] { return stopping || !queue.empty(); });
      if (queue.empty()) {
        if (stopping) return;
        continue;
      }
      std::vector<UsageRecord> batch;
      while (!queue.empty() && batch.size() < 500) {
        batch.push_back(std::move(queue.front()));
        queue.pop_front();
      }
      lock.unlock();
      bool ok = false;
      try {
        write_batch(batch);
        ok = true;
      } catch (const Error& e) {
        std::fprintf(stderr, "cnai usage log: %s (%zu records dropped)\n", e.what(), batch.size());
      }
      lock.lock();
      (ok ? written : dropped) += batch.size();
      done += batch.size();
      flushed.notify_all();
    }
  }
};

PostgresUsageLog::PostgresUsageLog(PostgresUsageOptions options) : impl_(std::make_unique<Impl>()) {
  if (!valid_identifier(options.table)) {
    throw Error(ErrorCode::invalid_argument, fmt::format("table: '{}' is not a plain identifier", options.table));
  }
  impl_->options = std::move(options);
  impl_->connect();
  exec_or_throw(impl_->conn.c, fmt::format(
                                   "CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, at timestamptz NOT NULL, "
                                   "api_key text NOT NULL, user_id text NOT NULL, route text NOT NULL, model text NOT NULL, "
                                   "backend text NOT NULL, status int NOT NULL, prompt_tokens bigint NOT NULL, "
                                   "completion_tokens bigint NOT NULL, cost_usd double precision NOT NULL, "
                                   "latency_ms double precision NOT NULL)",
                                   impl_->options.table));
  impl_->writer = std::thread([this] { impl_->run(); });
}

PostgresUsageLog::~PostgresUsageLog() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->writer.join();
}

void PostgresUsageLog::record(UsageRecord record) {
  {
    std::lock_guard lock(impl_->mutex);
    ++impl_->given;
    if (impl_->queue.size() >= impl_->options.max_pending) {
      ++impl_->dropped;
      ++impl_->done;
      return;
    }
    impl_->queue.push_back(std::move(record));
  }
  impl_->cv.notify_one();
}

void PostgresUsageLog::flush() {
  std::unique_lock lock(impl_->mutex);
  const std::uint64_t target = impl_->given;
  impl_->cv.notify_one();
  impl_->flushed.wait_for(lock, std::chrono::seconds(30), [&] { return impl_->done >= target; });
}

std::uint64_t PostgresUsageLog::written() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->written;
}

std::uint64_t PostgresUsageLog::dropped() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->dropped;
}

}  // namespace cnai
