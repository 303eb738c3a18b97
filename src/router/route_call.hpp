// RouteCall: one request through the router — plan, attempts in order with
// breakers, limits and budgets, failover by the failure table, the wait for a
// recovery, and the response's (or the error's) account of every attempt.
#pragma once

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "router/budget_book.hpp"
#include "router/route_plan.hpp"
#include "router/router_state.hpp"
#include "router/stream_relay.hpp"

namespace cnai::router {

class RouteCall {
 public:
  using Clock = std::chrono::steady_clock;
  RouteCall(Router::Impl& router, AliasState& alias, const ChatRequest& request, std::stop_token stop,
            const ChunkCallback* on_chunk);
  ChatResponse run();

 private:
  enum class Outcome { served, next, replan, stop };
  Outcome attempt(DeploymentState& d, const RouteCandidate& c, ChatResponse& out);
  ChatResponse call_backend(DeploymentState& d, const ChatRequest& request, Watchdog::Watch* watch);
  Outcome after_failure(DeploymentState& d, const Error& e, CircuitBreaker::Admission admission,
                        Clock::time_point started, const RouteCandidate& c);
  void note_skip(const std::string& name, const std::string& why, ErrorCode code);
  void finish(ChatResponse& r, DeploymentState& d, Clock::time_point started, double cost);
  [[noreturn]] void fail(ErrorCode code, const std::string& headline);
  [[noreturn]] void fail_cancelled();
  // The observer's record of a served request (from the cache or a deployment);
  // the caller adds what only it knows.
  RouteRecord served_record(const DeploymentState& d, const Usage& usage, const RouteInfo& info,
                            double duration_ms) const;
  void observe(const RouteRecord& record);
  // The response cache: a hit for the deployment that would serve now, and
  // storing what a deployment answered.
  bool answer_from_cache(const std::vector<RouteCandidate>& plan, ChatResponse& out);
  void store_in_cache(const DeploymentState& d, const ChatResponse& r);
  Error timeout_error(const DeploymentState& d, Clock::time_point started) const;

  Router::Impl& router_;
  AliasState& alias_;
  const ChatRequest& request_;
  std::stop_token stop_;
  const ChunkCallback* on_chunk_;
  Clock::time_point start_;
  RouteContext ctx_;
  PlanConstraints constraints_;
  std::vector<RouteAttempt> attempts_;
  std::vector<std::string> skipped_;
  std::vector<ErrorCode> skip_codes_;
  std::vector<std::string> carried_skips_;  // notes of the passes before a replan
  std::vector<ErrorCode> carried_codes_;
  std::vector<std::size_t> failed_ids_;  // this pass: not tried again after a replan
  double backend_us_ = 0;
  double waited_us_ = 0;  // max_wait spent waiting (for a recovery or a slot): not the router's work
  std::optional<ErrorCode> stop_code_;
  std::vector<DeploymentState*> saturated_;  // this pass: passed over at their max_concurrency
  std::optional<Error> last_error_;
  std::optional<StreamRelay> relay_;
  // A stream joined after a mid-stream failure (opt-in `continue`).
  std::optional<ChatRequest> continued_;
  std::string joined_from_;
  std::size_t joined_at_ = 0;
  std::string join_reason_;
  double estimate_ = 0;
  std::optional<std::string> cache_request_;  // normalised, when the alias caches and the request may be cached
  std::string cache_tag_;
};

}  // namespace cnai::router
