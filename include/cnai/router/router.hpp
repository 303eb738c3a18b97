// Router — a Backend made of Backends: deployments (a local model, an
// OpenAI-compatible server, Azure, Anthropic, another router) behind aliases,
// ranked per request by nestable policies, with circuit breakers, failover that
// never splices a stream, budgets, cost accounting and metrics. Thread-safe.
//
// Built in code (RouterSpec -> Router::create) or from a YAML/JSON config:
//   auto router = cnai::Router::from_config_file("router.yaml");
//   cnai::ChatResponse r = router->chat(request);  // request.model = an alias
// from_config_file and from_config_string are the stable entry points the
// server (`cnai serve --config`) and the Python module (cnai.Client(config=))
// build their router through.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "cnai/api/backend.hpp"
#include "cnai/api/types.hpp"
#include "cnai/clients/pricing.hpp"
#include "cnai/core/env.hpp"
#include "cnai/core/error.hpp"
#include "cnai/engine/local_engine.hpp"
#include "cnai/router/budget.hpp"
#include "cnai/router/circuit_breaker.hpp"
#include "cnai/router/policy.hpp"
#include "cnai/router/response_cache.hpp"

namespace cnai {

struct DeploymentLimits {
  double requests_per_minute = 0;  // 0: unlimited
  double tokens_per_minute = 0;    // prompt + completion tokens; 0: unlimited
  int max_concurrency = 0;         // calls at once; 0: unlimited
};

/// 0 means none. A timeout ends the attempt as ErrorCode::timeout (and fails
/// over when nothing has reached the caller yet).
struct DeploymentTimeouts {
  std::chrono::milliseconds total{0};        // whole call
  std::chrono::milliseconds first_token{0};  // streams: call -> first chunk
  std::chrono::milliseconds inter_chunk{0};  // streams: between two chunks
};

/// A named backend with its limits, price, context window and tags.
struct Deployment {
  std::string name;
  std::shared_ptr<Backend> backend;
  std::string model;  // ChatRequest::model sent to the backend; empty: the backend's own default
  DeploymentLimits limits;
  /// USD per million tokens; unset: the backend's own cost (its client's price table).
  std::optional<ModelPrice> price;
  std::int64_t context_window = 0;  // 0: the backend's capabilities()
  std::vector<std::string> tags;
  double weight = 1;
  DeploymentTimeouts timeouts;
  CircuitBreakerOptions breaker;
  /// Opt-in: a stream from this deployment that fails after content reached
  /// the caller is continued by the next deployment (original messages plus
  /// the partial answer); the response records where and why it was joined.
  bool continue_streams = false;
  std::optional<bool> local;  // overrides capabilities().local
  std::string provider;       // gen_ai.provider.name in metrics; empty: from the backend's type
};

/// A group: a policy over members, each a deployment or a nested group.
struct RouteGroup;
struct RouteMember {
  std::string deployment{};            // set, or `group`
  std::shared_ptr<RouteGroup> group{};
  double weight = 1;
};
struct RouteGroup {
  std::string name;                 // in errors and metrics; empty: made from the alias
  std::shared_ptr<Policy> policy;   // null: ordered
  std::vector<RouteMember> members;
};

/// An alias's response cache: deterministic requests (temperature 0, or a
/// seed) are answered from it when the deployment that would serve them
/// answered the same normalised request before (RouteInfo::cache_hit; a
/// stream is replayed as a stream). Entries are per API-key tag (metadata
/// `tag_key` and ChatRequest::user) unless shared.
struct ResponseCacheOptions {
  std::chrono::milliseconds ttl{300000};
  std::size_t max_entries = 1000;             // the in-memory store's bounds
  std::size_t max_bytes = std::size_t{64} << 20;
  bool share_across_tags = false;   // false: a tag's entries answer only that tag
  std::string tag_key = "api_key";  // metadata key of the API-key tag (the server sets api_key)
  /// Where entries live; null: in memory (one store per alias, with the bounds above).
  std::shared_ptr<ResponseCacheStore> store;
};

struct AliasSpec {
  std::string name;
  RouteGroup group;
  std::vector<MetadataRule> rules;  // this alias only, after RouterSpec::rules
  std::optional<ResponseCacheOptions> cache;
};

/// What the router does after an attempt failed with a code.
enum class FailureAction {
  next,              // try the next deployment
  stop,              // fail the request with this error
  context_fallback,  // only deployments with a larger context window
};
std::string_view to_string(FailureAction a) noexcept;

/// The failure table (one action per ErrorCode). Defaults: rate_limited,
/// timeout, unavailable, upstream, overloaded, unauthorized, not_found,
/// unsupported, internal -> next; context_overflow -> context_fallback;
/// invalid_argument -> stop. cancelled always stops; budget_exceeded takes the
/// budget's action.
struct FailureRules {
  std::array<FailureAction, 15> actions = defaults();
  FailureAction operator[](ErrorCode c) const noexcept { return actions[static_cast<std::size_t>(c)]; }
  void set(ErrorCode c, FailureAction a) noexcept { actions[static_cast<std::size_t>(c)] = a; }
  static std::array<FailureAction, 15> defaults() noexcept;
};

/// One finished request, for the host's own telemetry (RouterSpec::observer).
struct RouteRecord {
  std::string alias;
  std::string deployment;      // empty: nothing served it
  std::string error_code;      // empty: served
  bool stream = false;
  bool cache_hit = false;
  std::vector<RouteAttempt> attempts;
  double duration_ms = 0;
  double time_to_first_token_ms = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  double cost_usd = 0;
  double router_overhead_us = 0;
};
using RouteObserver = std::function<void(const RouteRecord&)>;

struct RouterSpec {
  std::string name = "router";  // Backend::name()
  std::vector<Deployment> deployments;
  std::vector<AliasSpec> aliases;
  std::string default_alias;  // for requests that name no model; empty: the first alias
  std::vector<MetadataRule> rules;  // every alias
  std::vector<BudgetSpec> budgets;
  FailureRules failure_rules;
  /// When every candidate is cooling down, or at its max_concurrency, wait
  /// up to this long (from the request's start, within its deadline) for the
  /// earliest recovery or a freed call slot instead of failing at once (0:
  /// fail at once: overloaded, or the cooldown's error).
  std::chrono::milliseconds max_wait{0};
  /// Completion tokens assumed for estimates when a request sets no max_tokens.
  std::int64_t default_completion_tokens = 256;
  std::shared_ptr<SpendStore> spend_store;  // null: in memory
  RouteObserver observer;                   // called after every request, on the calling thread
};

/// The error of a request that nothing could serve: what() lists every
/// deployment tried with its own upstream error, and every one skipped and why.
/// code(): the last attempt's code (its HTTP status in upstream_status()), or
/// when nothing was tried, why (unavailable: all cooling down; unsupported:
/// capabilities; context_overflow; budget_exceeded).
class RoutingError : public Error {
 public:
  RoutingError(ErrorCode code, std::string message, std::optional<int> upstream_status, std::string upstream_message,
               std::vector<RouteAttempt> attempts, std::vector<std::string> skipped);
  const std::vector<RouteAttempt>& attempts() const noexcept { return attempts_; }
  const std::vector<std::string>& skipped() const noexcept { return skipped_; }

 private:
  std::vector<RouteAttempt> attempts_;
  std::vector<std::string> skipped_;
};

/// A deployment's state as the router sees it (for `cnai router`, /readyz, tests).
struct DeploymentStatus {
  std::string name;
  BreakerState breaker = BreakerState::closed;
  int in_flight = 0;
  BackendHealth health;
  double ttft_ms = 0;
  double tokens_per_s = 0;
};

/// How from_config_* turn a config into backends.
struct RouterBuildOptions {  // every field defaulted: designated initialisers name any subset
  /// Backends by deployment name: replace what the config would build (a
  /// config may also name them with `type: external`).
  std::map<std::string, std::shared_ptr<Backend>> backends{};
  /// Local engines already loaded, by model path (shared, not loaded twice).
  std::map<std::string, std::shared_ptr<LocalEngine>> local_engines{};
  /// Defaults for the local engines the config loads (threads, KV type ...).
  LocalEngineOptions local_options{};
  std::shared_ptr<SpendStore> spend_store{};
  /// The store of every alias whose config turns its cache on (shared,
  /// e.g. Redis); null: each such alias keeps its own in memory.
  std::shared_ptr<ResponseCacheStore> response_cache_store{};
  RouteObserver observer{};
  /// Resolves ${VAR} references (secrets come only this way); the library
  /// reads no environment itself: a host that wants its own passes a lookup
  /// over it (the CLI and the Python module do). None: see check_router_config.
  EnvLookup env{};
};

class Router final : public Backend {
 public:
  /// Errors: invalid_argument naming what is wrong (an alias naming an unknown
  /// deployment, duplicate names, a deployment without a backend, no aliases).
  static std::shared_ptr<Router> create(RouterSpec spec);

  /// The config file (YAML, or JSON when it starts with '{'), as
  /// `cnai router check` reads it. Errors: invalid_argument listing every
  /// problem with its line; not_found for a missing file; those of loading a
  /// local model. Relative model paths are relative to the file's folder.
  static std::shared_ptr<Router> from_config_file(const std::string& path, const RouterBuildOptions& options = {});
  /// The same from text; `source` names it in errors.
  static std::shared_ptr<Router> from_config_string(const std::string& text, const RouterBuildOptions& options = {},
                                                    const std::string& source = "<config>");

  ~Router() override;
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Backend: request.model names an alias (or a deployment directly; empty:
  // the default alias). Errors: not_found for an unknown name, RoutingError
  // when nothing could serve, cancelled, the caller's callback's own exception.
  const std::string& name() const noexcept override;
  /// The union of the deployments' (models: the aliases and deployment names).
  BackendCapabilities capabilities() const override;
  /// healthy when some deployment's breaker is closed, degraded when some is
  /// half-open, unavailable when all are open; queue figures summed.
  BackendHealth health() const override;

  /// Alias names, in config order.
  std::vector<std::string> aliases() const;
  std::vector<DeploymentStatus> deployments() const;
  /// The deployments an alias can route to (nested groups included), in
  /// config order; empty for an unknown alias. With deployments(), what a
  /// server's /readyz needs: every alias with a deployment that can serve.
  std::vector<std::string> alias_deployments(const std::string& alias) const;

  /// Metrics in Prometheus text exposition format (version 0.0.4): the
  /// OpenTelemetry GenAI instruments (gen_ai_client_token_usage,
  /// gen_ai_client_operation_duration_seconds,
  /// gen_ai_server_time_to_first_token_seconds) and cnai_router_* for the rest.
  std::string metrics_text() const;

 protected:
  ChatResponse do_chat(const ChatRequest& request, std::stop_token stop) override;
  ChatResponse do_chat_stream(const ChatRequest& request, const ChunkCallback& on_chunk,
                              std::stop_token stop) override;
  EmbeddingResponse do_embeddings(const EmbeddingRequest& request, std::stop_token stop) override;

 public:
  struct Impl;  // src/router

 private:
  explicit Router(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cnai
