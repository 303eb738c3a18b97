// ServerCore — what every connection of one HttpServer shares: the routes,
// the compute pool, API keys with their rate limits, counters for /metrics,
// the draining flag, and the set of live sessions (to close them on stop).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "cnai/server/http_server.hpp"
#include "server/api.hpp"
#include "server/compute_pool.hpp"

namespace cnai::server {

class HttpSession;
class ServerCore;

/// Request counts and latencies for /metrics (Prometheus text format).
class ServerMetrics {
 public:
  void observe(std::string_view route, int status, double seconds);
  void rejected(std::string_view reason) ;
  std::string prometheus(const ServerCore& core) const;
  std::uint64_t answered() const { return answered_.load(); }

 private:
  static constexpr double kBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;  // (route, status) -> count
  std::map<std::string, std::uint64_t> rejected_;
  std::uint64_t buckets_[std::size(kBuckets) + 1] = {};
  double seconds_sum_ = 0;
  std::atomic<std::uint64_t> answered_{0};
};

class ServerCore {
 public:
  ServerCore(Backend& backend, const ServerOptions& options, JobService* jobs);

  const ServerOptions& options;
  Backend& backend;
  Api api;
  ComputePool pool;
  ServerMetrics metrics;
  JobService* jobs;
  std::atomic<bool> draining{false};  // /readyz false, new requests refused, replies close their connection
  std::atomic<bool> stopping{false};  // stop(): connections close at once
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> in_flight{0};  // requests accepted and not yet fully answered
  std::atomic<std::size_t> streams{0};

  enum class AuthResult { ok, missing, invalid, rate_limited };
  /// Checks the bearer key (Authorization: Bearer, or x-api-key as Anthropic's
  /// SDK sends it); sets `key_name`, and on rate_limited `retry_after_s`: the
  /// whole seconds until the key's bucket holds a request again.
  AuthResult authenticate(std::optional<std::string> bearer_key, std::string& key_name, int& retry_after_s);
  /// Why /readyz answers 503 (draining, options.unready's reasons); empty: ready.
  std::vector<std::string> unready() const;
  std::string metrics_text() const;

  void add_session(HttpSession* s, std::weak_ptr<HttpSession> w);
  void remove_session(HttpSession* s);
  void close_sessions();

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point last;
  };
  std::mutex auth_mutex_;
  std::unordered_map<std::string, const ApiKey*> keys_by_hash_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::mutex sessions_mutex_;
  std::unordered_map<HttpSession*, std::weak_ptr<HttpSession>> sessions_;
};

}  // namespace cnai::server
