// HttpServer — the OpenAI-compatible HTTP server over any Backend (normally
// a router): Chat Completions (JSON and SSE), Embeddings, Models, Responses
// (foreground and background), Files and Batches (with a JobService),
// /healthz, /readyz, /metrics. Asynchronous I/O on its own threads; every
// Backend call runs on a bounded pool of compute threads, cancelled when
// its client disconnects. No transport types in this header.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cnai/api/backend.hpp"
#include "cnai/server/job_service.hpp"
#include "cnai/server/usage_log.hpp"

namespace cnai {

struct ServerLimits {
  std::size_t max_body_bytes = std::size_t{16} << 20;     // JSON requests
  std::size_t max_upload_bytes = std::size_t{200} << 20;  // POST /v1/files
  std::size_t max_header_bytes = 16 << 10;
  std::size_t max_header_count = 100;
  std::chrono::milliseconds header_timeout{10000};  // a request's head must arrive within this
  std::chrono::milliseconds body_timeout{120000};
  std::chrono::milliseconds idle_timeout{30000};    // keep-alive between requests
  std::chrono::milliseconds write_timeout{30000};   // a reader that takes longer per write is dropped
  std::size_t max_connections = 1024;               // more: 503 and close
  std::size_t max_queued = 256;                     // requests waiting for a compute thread; more: 429
  std::size_t stream_buffer_bytes = 64 << 10;       // unsent SSE bytes before generation waits
};

/// A bearer key, stored as the SHA-256 of the key (hex), never the key.
struct ApiKey {
  std::string name;
  std::string sha256_hex;
  double requests_per_minute = 0;  // 0: unlimited
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: an ephemeral port (see HttpServer::port)
  int io_threads = 1;
  int compute_threads = 8;
  ServerLimits limits;
  std::vector<ApiKey> api_keys;  // empty: no authentication
  std::chrono::milliseconds drain_timeout{30000};
  /// Model ids for GET /v1/models when the backend's capabilities list none.
  std::vector<std::string> model_ids;
  /// The model of requests that name none (a router's default alias); empty:
  /// the first of model_ids, else the backend's first model.
  std::string default_model;
  /// Extra Prometheus text appended to /metrics (the router's and engine's).
  std::function<std::string()> extra_metrics;
  /// Where usage records of inference requests go (e.g. PostgresUsageLog).
  std::shared_ptr<UsageLog> usage;
  /// What keeps the server from being ready besides draining, one reason
  /// each (e.g. a router alias without a healthy deployment); empty: ready.
  /// Called on an I/O thread by every /readyz: keep it cheap.
  std::function<std::vector<std::string>()> unready;
};

class HttpServer {
 public:
  /// `jobs` (optional, not owned) enables Files, Batches and background
  /// Responses; without it those endpoints answer 404.
  HttpServer(Backend& backend, ServerOptions options, JobService* jobs = nullptr);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and starts the I/O and compute threads. Error(unavailable) when the
  /// address cannot be bound.
  void start();
  std::uint16_t port() const;
  /// Stops accepting (and /readyz answers 503), lets in-flight requests
  /// finish within drain_timeout, then stops. Safe from a signal-handling thread.
  void drain();
  /// Closes everything now; in-flight generations are cancelled.
  void stop();
  /// Blocks until stop() or drain() has finished.
  void wait();

  struct Stats {
    std::size_t connections = 0;  // open now
    std::size_t in_flight = 0;    // requests being answered now
    std::uint64_t requests = 0;   // answered since start
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The server's endpoints as a function, without sockets: what batch lines
/// and background responses run through (`cnai worker` uses it directly).
EndpointExecutor endpoint_executor(Backend& backend, ServerOptions options = {});

/// SHA-256 of `key`, lower-case hex (what ApiKey::sha256_hex holds).
std::string sha256_hex(std::string_view key);

}  // namespace cnai
