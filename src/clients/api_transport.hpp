// One upstream API endpoint family's HTTP plumbing: rate limiting, retries
// with the SDKs' backoff rules, error-status mapping and SSE streaming.
// Adapters (OpenAI, Anthropic) build requests and decode bodies around it.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "clients/http/http_client.hpp"
#include "clients/rate_limiter.hpp"
#include "clients/retry_policy.hpp"
#include "clients/sse_parser.hpp"
#include "cnai/clients/client_options.hpp"

namespace cnai::clients {

class DeadlineGuard;

struct ApiTransportOptions {
  std::string provider = "openai";  // names the upstream in error messages
  RetryConfig retry;
  RateLimits rate_limits;
  HttpClientOptions http;
};

/// The transport settings for a public client's common options.
ApiTransportOptions make_transport_options(std::string provider, const ClientCommonOptions& common);

/// Per-call settings.
struct CallContext {
  double estimated_tokens = 0;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  const CancelToken* cancel = nullptr;
};

class ApiTransport {
 public:
  explicit ApiTransport(ApiTransportOptions options);

  /// Sends with retries; returns a 2xx response whose content type is JSON,
  /// else throws the mapped Error. `attempts()` counts HTTP attempts made.
  HttpResponse send_json(const HttpRequest& request, const CallContext& ctx);

  /// Streams SSE events to `on_event`, which says what next: more; finished
  /// (its end marker: the rest of the body is drained, and nothing the server
  /// does after — reset, stall, broken length — is an error); stop (the
  /// caller cancelled). Retries only while `content_delivered()` is false.
  /// Returns when the stream ends; the adapter checks it saw its end marker.
  void stream_sse(const HttpRequest& request, const CallContext& ctx,
                  const std::function<BodyControl(const SseEvent&)>& on_event,
                  const std::function<bool()>& content_delivered);

  const ApiTransportOptions& options() const noexcept { return options_; }

 private:
  RetryDecision after_failure(int retries_done, FailureKind kind, const HttpResponse* response, bool delivered);
  void wait_before_retry(std::chrono::milliseconds delay, const CallContext& ctx);
  void acquire_capacity(const CallContext& ctx);
  void throw_if_expired(const DeadlineGuard& guard) const;

  ApiTransportOptions options_;
  HttpClient http_;
  RetryPolicy policy_;
  RateLimiter limiter_;
  std::mutex rng_mutex_;
  std::mt19937_64 rng_;
};

}  // namespace cnai::clients
