// Planning one request: every deployment of the alias's tree as a candidate
// (filters, cooldowns, limits marked), each group ranked by its policy, nested
// groups expanded in place, the rules applied: the order attempts follow.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "router/router_state.hpp"

namespace cnai::router {

struct PlanConstraints {
  std::int64_t min_context_window = 0;  // context fallback: only larger windows than this
  bool free_only = false;               // a budget rerouted the request to free local deployments
};

/// Prompt tokens of `request` as `d` would count them: exact with the local
/// tokenizer when the rough bound says the context window could matter, an
/// estimate (bytes / 4 plus per-message overhead) otherwise.
std::int64_t prompt_tokens_for(const DeploymentState& d, const ChatRequest& request, std::int64_t completion_tokens);

/// Pre-call cost estimate: prompt x input price + completion x output price.
double estimate_cost(const DeploymentState& d, std::int64_t prompt_tokens, std::int64_t completion_tokens);

std::vector<RouteCandidate> plan_route(const Router::Impl& router, const AliasState& alias, const RouteContext& ctx,
                                       const PlanConstraints& constraints);

}  // namespace cnai::router
