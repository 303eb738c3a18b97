// ServerCore: bearer keys (compared by SHA-256) with token-bucket limits,
// Prometheus counters, readiness, the session registry.
#include "server/server_core.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <cmath>

#include "server/http_session.hpp"

namespace cnai {

std::string sha256_hex(std::string_view key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(key.data(), key.size(), digest, &len, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < len; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

}  // namespace cnai

namespace cnai::server {
namespace {

// A Prometheus label value: backslash, quote and newline escaped.
std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return out;
}

}  // namespace

void ServerMetrics::observe(std::string_view route, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(route), status}];
  std::size_t b = 0;
  while (b < std::size(kBuckets) && seconds > kBuckets[b]) ++b;
  ++buckets_[b];
  seconds_sum_ += seconds;
  ++answered_;
}

void ServerMetrics::rejected(std::string_view reason) {
  std::lock_guard lock(mutex_);
  ++rejected_[std::string(reason)];
}

std::string ServerMetrics::prometheus(const ServerCore& core) const {
  std::string out;
  std::lock_guard lock(mutex_);
  out += "# HELP cnai_server_requests_total HTTP requests answered, by route and status.\n";
  out += "# TYPE cnai_server_requests_total counter\n";
  for (const auto& [k, n] : requests_) {
    out += fmt::format("cnai_server_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", k.first, k.second, n);
  }
  out += "# HELP cnai_server_rejected_total Requests refused before any work, by reason.\n";
  out += "# TYPE cnai_server_rejected_total counter\n";
  for (const auto& [k, n] : rejected_) out += fmt::format("cnai_server_rejected_total{{reason=\"{}\"}} {}\n", k, n);
  out += "# HELP cnai_server_request_duration_seconds Time from a request's body to its last byte.\n";
  out += "# TYPE cnai_server_request_duration_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < std::size(kBuckets); ++b) {
    cumulative += buckets_[b];
    out += fmt::format("cnai_server_request_duration_seconds_bucket{{le=\"{}\"}} {}\n", kBuckets[b], cumulative);
  }
  cumulative += buckets_[std::size(kBuckets)];
  out += fmt::format("cnai_server_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", cumulative);
  out += fmt::format("cnai_server_request_duration_seconds_sum {}\n", seconds_sum_);
  out += fmt::format("cnai_server_request_duration_seconds_count {}\n", cumulative);
  out += "# TYPE cnai_server_connections gauge\n";
  out += fmt::format("cnai_server_connections {}\n", core.connections.load());
  out += "# TYPE cnai_server_in_flight gauge\n";
  out += fmt::format("cnai_server_in_flight {}\n", core.in_flight.load());
  out += "# TYPE cnai_server_streams gauge\n";
  out += fmt::format("cnai_server_streams {}\n", core.streams.load());
  out += "# TYPE cnai_server_compute_queue gauge\n";
  out += fmt::format("cnai_server_compute_queue {}\n", core.pool.queued());
  out += "# TYPE cnai_server_draining gauge\n";
  out += fmt::format("cnai_server_draining {}\n", core.draining.load() ? 1 : 0);
  return out;
}

ServerCore::ServerCore(Backend& backend_, const ServerOptions& opts, JobService* jobs_)
    : options(opts),
      backend(backend_),
      api(backend_, jobs_, opts),
      pool(opts.compute_threads, opts.limits.max_queued),
      jobs(jobs_) {
  for (const ApiKey& k : options.api_keys) keys_by_hash_[k.sha256_hex] = &k;
}

ServerCore::AuthResult ServerCore::authenticate(std::optional<std::string> bearer_key, std::string& key_name,
                                                int& retry_after_s) {
  if (options.api_keys.empty()) return AuthResult::ok;
  if (!bearer_key || bearer_key->empty()) return AuthResult::missing;
  const std::string hash = sha256_hex(*bearer_key);
  std::lock_guard lock(auth_mutex_);
  auto it = keys_by_hash_.find(hash);
  if (it == keys_by_hash_.end()) return AuthResult::invalid;
  const ApiKey& key = *it->second;
  key_name = key.name;
  if (key.requests_per_minute <= 0) return AuthResult::ok;
  // Token bucket: a minute's worth of burst, refilled continuously.
  const auto now = std::chrono::steady_clock::now();
  auto [b, fresh] = buckets_.try_emplace(key.name, Bucket{key.requests_per_minute, now});
  if (!fresh) {
    const double minutes = std::chrono::duration<double>(now - b->second.last).count() / 60.0;
    b->second.tokens = std::min(key.requests_per_minute, b->second.tokens + minutes * key.requests_per_minute);
    b->second.last = now;
  }
  if (b->second.tokens < 1) {
    // The bucket refills at rpm/60 per second: the missing fraction of a token, in seconds, rounded up.
    const double seconds = (1.0 - b->second.tokens) * 60.0 / key.requests_per_minute;
    retry_after_s = std::max(1, static_cast<int>(std::ceil(seconds - 1e-9)));
    return AuthResult::rate_limited;
  }
  b->second.tokens -= 1;
  return AuthResult::ok;
}

std::vector<std::string> ServerCore::unready() const {
  if (draining.load()) return {"draining"};
  if (!options.unready) return {};
  try {
    return options.unready();
  } catch (const std::exception& e) {
    return {std::string("readiness check failed: ") + e.what()};
  }
}

std::string ServerCore::metrics_text() const {
  std::string out = metrics.prometheus(*this);
  if (jobs) {
    try {
      const QueueStats q = jobs->store().queue_stats();
      out += "# HELP cnai_jobs_queue_entries Queued request lines, waiting or handed to a worker.\n";
      out += "# TYPE cnai_jobs_queue_entries gauge\n";
      out += fmt::format("cnai_jobs_queue_entries{{state=\"ready\"}} {}\n", q.ready);
      out += fmt::format("cnai_jobs_queue_entries{{state=\"pending\"}} {}\n", q.pending);
    } catch (const Error&) {  // the store is away: its gauges are left out of this scrape
    }
  }
  // The backend's own view (a local engine's queue, a router's deployments summed).
  const BackendHealth h = backend.health();
  const std::string name = label_value(backend.name());
  out += "# HELP cnai_backend_up The backend's health: 1 healthy, 0.5 degraded, 0 unavailable.\n";
  out += "# TYPE cnai_backend_up gauge\n";
  out += fmt::format("cnai_backend_up{{backend=\"{}\"}} {}\n", name,
                     h.status == HealthStatus::healthy ? 1.0 : h.status == HealthStatus::degraded ? 0.5 : 0.0);
  out += "# TYPE cnai_backend_queue_depth gauge\n";
  out += fmt::format("cnai_backend_queue_depth{{backend=\"{}\"}} {}\n", name, h.queue_depth);
  out += "# TYPE cnai_backend_running gauge\n";
  out += fmt::format("cnai_backend_running{{backend=\"{}\"}} {}\n", name, h.running);
  out += "# TYPE cnai_backend_estimated_wait_seconds gauge\n";
  out += fmt::format("cnai_backend_estimated_wait_seconds{{backend=\"{}\"}} {}\n", name,
                     h.estimated_wait_ms / 1000.0);
  if (options.extra_metrics) out += options.extra_metrics();
  return out;
}

void ServerCore::add_session(HttpSession* s, std::weak_ptr<HttpSession> w) {
  std::lock_guard lock(sessions_mutex_);
  sessions_[s] = std::move(w);
}

void ServerCore::remove_session(HttpSession* s) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.erase(s);
}

void ServerCore::close_sessions() {
  std::vector<std::shared_ptr<HttpSession>> live;
  {
    std::lock_guard lock(sessions_mutex_);
    for (auto& [p, w] : sessions_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->close();
}

}  // namespace cnai::server
