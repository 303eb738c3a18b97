// Usage records — one per answered request (key, user, deployment, tokens,
// cost, latency) — for reporting. The server hands them to a UsageLog;
// PostgresUsageLog writes them to PostgreSQL in the background, in batches,
// so a slow database never holds a request up (it drops and counts instead).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cnai/core/error.hpp"

namespace cnai {

struct UsageRecord {
  std::int64_t at_ms = 0;  // unix milliseconds
  std::string api_key;     // the key's name (never the key)
  std::string user;        // the request's `user`
  std::string route;       // "/v1/chat/completions", ...
  std::string model;       // as requested
  std::string backend;     // the deployment that served it
  int status = 200;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  double cost_usd = 0;
  double latency_ms = 0;
};

class UsageLog {
 public:
  virtual ~UsageLog() = default;
  /// Never blocks on I/O; thread-safe.
  virtual void record(UsageRecord record) = 0;
};

struct PostgresUsageOptions {
  std::string conninfo;              // libpq connection string or postgresql:// URL
  std::string table = "cnai_usage";  // created when missing
  std::size_t max_pending = 10000;   // records waiting; more are dropped (and counted)
  int flush_interval_ms = 200;
};

class PostgresUsageLog final : public UsageLog {
 public:
  /// Connects and creates the table. Error(unavailable) when PostgreSQL cannot be reached.
  explicit PostgresUsageLog(PostgresUsageOptions options);
  ~PostgresUsageLog() override;  // writes what is pending (bounded), then disconnects
  void record(UsageRecord record) override;
  /// Blocks until every record given so far is written (tests, shutdown).
  void flush();
  std::uint64_t written() const;
  std::uint64_t dropped() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cnai
