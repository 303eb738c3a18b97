#include "router/route_plan.hpp"

#include <algorithm>

namespace cnai::router {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t text_bytes(const ChatRequest& r) {
  std::int64_t bytes = 0;
  for (const Message& m : r.messages) {
    bytes += static_cast<std::int64_t>(m.content.size()) + 8;  // role and template markers
    for (const ContentPart& p : m.parts) bytes += static_cast<std::int64_t>(p.text.size());
    for (const ToolCall& t : m.tool_calls) bytes += static_cast<std::int64_t>(t.name.size() + t.arguments.size());
  }
  for (const Tool& t : r.tools)
    bytes += static_cast<std::int64_t>(t.name.size() + t.description.size() + t.parameters_json.size());
  return bytes;
}

std::string seconds_left(Clock::time_point until, Clock::time_point now) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
  return std::to_string(std::max<std::int64_t>(ms, 0)) + " ms";
}

RouteCandidate candidate_for(const DeploymentState& d, double weight, std::size_t index, const RouteContext& ctx,
                             const PlanConstraints& k, Clock::time_point now) {
  RouteCandidate c;
  c.name = d.spec.name;
  c.id = d.id;
  c.index = index;
  c.local = d.is_local();
  c.weight = weight * d.spec.weight;
  c.in_flight = d.in_flight.load(std::memory_order_relaxed);
  c.max_concurrency = d.spec.limits.max_concurrency;
  c.context_window = d.caps.context_window;
  c.capabilities = &d.caps;
  c.tags = d.spec.tags;
  c.health = d.spec.backend->health();
  c.ttft_ms = d.ttft_ms.value();
  c.tokens_per_s = d.tokens_per_s.value();
  c.prompt_tokens = prompt_tokens_for(d, ctx.request, ctx.expected_completion_tokens);
  c.estimated_cost_usd = estimate_cost(d, c.prompt_tokens, ctx.expected_completion_tokens);
  if (d.breaker.state(now) == BreakerState::open) {
    c.available_at = d.breaker.open_until();
    c.skipped = "cooling down (" + seconds_left(c.available_at, now) + " left)";
    c.skip_code = ErrorCode::unavailable;
  } else if (d.spec.limits.requests_per_minute > 0 &&
             d.requests_window.sum(now) + 1 > d.spec.limits.requests_per_minute) {
    c.skipped = "at its requests_per_minute limit";
    c.skip_code = ErrorCode::rate_limited;
  } else if (d.spec.limits.tokens_per_minute > 0 && d.tokens_window.sum(now) > 0 &&
             d.tokens_window.sum(now) + static_cast<double>(c.prompt_tokens + ctx.expected_completion_tokens) >
                 d.spec.limits.tokens_per_minute) {
    c.skipped = "at its tokens_per_minute limit";
    c.skip_code = ErrorCode::rate_limited;
  } else if (k.min_context_window > 0 && (c.context_window <= 0 || c.context_window <= k.min_context_window)) {
    c.skipped = "context window not larger than the one that overflowed";
    c.skip_code = ErrorCode::context_overflow;
  } else if (k.free_only && !(d.free() && d.is_local())) {
    c.skipped = "not a free local deployment (budget reached: rerouted to local)";
    c.skip_code = ErrorCode::budget_exceeded;
  }
  return c;
}

void expand(const Router::Impl& router, const CompiledGroup& g, const RouteContext& ctx, const PlanConstraints& k,
            Clock::time_point now, std::vector<RouteCandidate>& out) {
  std::vector<RouteCandidate> cands;
  cands.reserve(g.members.size());
  std::vector<std::vector<RouteCandidate>> nested(g.members.size());
  for (std::size_t i = 0; i < g.members.size(); ++i) {
    const CompiledGroup::Member& m = g.members[i];
    if (m.deployment) {
      cands.push_back(candidate_for(*m.deployment, m.weight, i, ctx, k, now));
      continue;
    }
    expand(router, *m.group, ctx, k, now, nested[i]);
    RouteCandidate s;
    auto first = std::find_if(nested[i].begin(), nested[i].end(), [](const RouteCandidate& x) { return x.skipped.empty(); });
    if (first != nested[i].end()) {
      s = *first;
    } else {
      s.skipped = "every member skipped";
      if (!nested[i].empty()) s.skip_code = nested[i].front().skip_code;
      for (const RouteCandidate& x : nested[i])
        if (x.available_at != Clock::time_point{} && (s.available_at == Clock::time_point{} || x.available_at < s.available_at))
          s.available_at = x.available_at;
    }
    s.name = m.group->name;
    s.is_group = true;
    s.capabilities = nullptr;
    s.weight = m.weight;
    s.index = s.id = i;
    cands.push_back(std::move(s));
  }
  router.capability_filter.rank(cands, ctx);
  router.context_filter.rank(cands, ctx);
  g.policy->rank(cands, ctx);
  for (RouteCandidate& c : cands) {
    if (!c.is_group) {
      out.push_back(std::move(c));
      continue;
    }
    for (RouteCandidate& x : nested[c.id]) {
      if (!c.skipped.empty() && x.skipped.empty()) {
        x.skipped = c.skipped;  // the group's policy ruled the whole group out
        x.skip_code = c.skip_code;
      }
      out.push_back(std::move(x));
    }
  }
}

}  // namespace

std::int64_t prompt_tokens_for(const DeploymentState& d, const ChatRequest& request, std::int64_t completion_tokens) {
  const std::int64_t bytes = text_bytes(request);
  const std::int64_t estimate = bytes / 4 + 1;
  if (!d.local_engine || d.caps.context_window <= 0) return estimate;
  // A byte-level tokenizer makes at most about one token per byte: when even
  // that fits, the exact count cannot change the decision.
  if (bytes + 16 + completion_tokens <= d.caps.context_window) return estimate;
  try {
    return static_cast<std::int64_t>(d.local_engine->tokenize_prompt(d.local_engine->render_prompt(request)).size());
  } catch (const Error&) {
    return estimate;  // the engine itself will say what is wrong with the request
  }
}

double estimate_cost(const DeploymentState& d, std::int64_t prompt_tokens, std::int64_t completion_tokens) {
  if (!d.price) return 0;
  return (static_cast<double>(prompt_tokens) * d.price->input_per_million +
          static_cast<double>(completion_tokens) * d.price->output_per_million) / 1e6;
}

std::vector<RouteCandidate> plan_route(const Router::Impl& router, const AliasState& alias, const RouteContext& ctx,
                                       const PlanConstraints& constraints) {
  std::vector<RouteCandidate> out;
  expand(router, alias.root, ctx, constraints, Clock::now(), out);
  if (alias.rules) alias.rules->rank(out, ctx);
  return out;
}

}  // namespace cnai::router
