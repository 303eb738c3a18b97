// The pre-call checks (capabilities, context window), rules on request
// metadata, and make_policy for configs.
#include <algorithm>

#include "cnai/router/policy.hpp"

namespace cnai {
namespace {

bool wants_images(const ChatRequest& r) {
  for (const Message& m : r.messages)
    for (const ContentPart& p : m.parts)
      if (p.type == "image_url") return true;
  return false;
}

bool wants_json(const ChatRequest& r) { return r.response_format && r.response_format->type != "text"; }

void skip_if_empty(RouteCandidate& c, const char* why) {
  if (!c.skipped.empty()) return;
  c.skipped = why;
  c.skip_code = ErrorCode::unsupported;
}

bool listed(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

void CapabilityFilter::rank(std::vector<RouteCandidate>& c, const RouteContext& ctx) const {
  const ChatRequest& r = ctx.request;
  const bool tools = !r.tools.empty(), json = wants_json(r), images = wants_images(r);
  for (RouteCandidate& x : c) {
    if (x.is_group || !x.capabilities) continue;
    const BackendCapabilities& caps = *x.capabilities;
    if (tools && !caps.tools) skip_if_empty(x, "lacks tools");
    if (json && !caps.json_output) skip_if_empty(x, "lacks JSON output");
    if (images && !caps.images) skip_if_empty(x, "lacks images");
    if (r.stream && !caps.streaming) skip_if_empty(x, "lacks streaming");
  }
}

void ContextWindowFilter::rank(std::vector<RouteCandidate>& c, const RouteContext& ctx) const {
  for (RouteCandidate& x : c) {
    if (x.is_group || x.context_window <= 0 || !x.skipped.empty()) continue;
    const std::int64_t need = x.prompt_tokens + ctx.expected_completion_tokens;
    if (need > x.context_window) {
      x.skipped = "context window " + std::to_string(x.context_window) + " < " + std::to_string(x.prompt_tokens) +
                  " prompt + " + std::to_string(ctx.expected_completion_tokens) + " completion tokens";
      x.skip_code = ErrorCode::context_overflow;
    }
  }
}

std::string_view to_string(MetadataRule::Action a) noexcept {
  switch (a) {
    case MetadataRule::Action::local_only: return "local_only";
    case MetadataRule::Action::prefer_local: return "prefer_local";
    case MetadataRule::Action::prefer_remote: return "prefer_remote";
    case MetadataRule::Action::only: return "only";
    case MetadataRule::Action::exclude: return "exclude";
  }
  return "unknown";
}

bool MetadataRule::matches(const ChatRequest& request) const {
  for (const auto& [key, value] : match) {
    if (key == "user") {
      if (!request.user || *request.user != value) return false;
      continue;
    }
    auto it = request.metadata.find(key);
    if (it == request.metadata.end() || it->second != value) return false;
  }
  return true;
}

void MetadataRulesPolicy::rank(std::vector<RouteCandidate>& c, const RouteContext& ctx) const {
  for (const MetadataRule& rule : rules_) {
    if (!rule.matches(ctx.request)) continue;
    switch (rule.action) {
      case MetadataRule::Action::local_only:
        for (RouteCandidate& x : c)
          if (!x.local) x.skipped = "not local (local-only request)";
        break;
      case MetadataRule::Action::prefer_local:
        std::stable_partition(c.begin(), c.end(), [](const RouteCandidate& x) { return x.local; });
        break;
      case MetadataRule::Action::prefer_remote:
        std::stable_partition(c.begin(), c.end(), [](const RouteCandidate& x) { return !x.local; });
        break;
      case MetadataRule::Action::only:
        for (RouteCandidate& x : c)
          if (!listed(rule.deployments, x.name)) x.skipped = "excluded by a rule (only)";
        break;
      case MetadataRule::Action::exclude:
        for (RouteCandidate& x : c)
          if (listed(rule.deployments, x.name)) x.skipped = "excluded by a rule";
        break;
    }
  }
  std::stable_partition(c.begin(), c.end(), [](const RouteCandidate& x) { return x.skipped.empty(); });
}

std::shared_ptr<Policy> make_policy(std::string_view name) {
  if (name == "ordered" || name == "fallback" || name == "priority") return std::make_shared<OrderedPolicy>();
  if (name == "cost") return std::make_shared<CostPolicy>();
  if (name == "latency") return std::make_shared<LatencyPolicy>();
  if (name == "least_busy") return std::make_shared<LeastBusyPolicy>();
  if (name == "overflow") return std::make_shared<OverflowPolicy>();
  if (name == "weighted") return std::make_shared<WeightedRandomPolicy>();
  throw Error(ErrorCode::invalid_argument, "unknown policy '" + std::string(name) +
                                               "' (expected ordered, cost, latency, least_busy, overflow or weighted)");
}

}  // namespace cnai
