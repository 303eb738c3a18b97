// serve_router: a Router's default alias, per-alias readiness and metrics as
// ServerOptions. A half-open breaker counts as able to serve: it admits the
// probe that closes it again, and a pod taken out of its Service would never
// get that probe.
#include "cnai/server/router_serving.hpp"

#include <fmt/format.h>

#include <map>

namespace cnai {
namespace {

std::string_view breaker_name(BreakerState s) {
  switch (s) {
    case BreakerState::closed: return "closed";
    case BreakerState::half_open: return "half-open";
    case BreakerState::open: return "open";
  }
  return "unknown";
}

}  // namespace

std::vector<std::string> router_unready(const Router& router) {
  std::map<std::string, DeploymentStatus> status;
  for (DeploymentStatus& d : router.deployments()) status.emplace(d.name, std::move(d));
  std::vector<std::string> out;
  for (const std::string& alias : router.aliases()) {
    bool can_serve = false;
    std::string states;
    for (const std::string& name : router.alias_deployments(alias)) {
      auto it = status.find(name);
      if (it == status.end()) continue;
      const DeploymentStatus& d = it->second;
      const bool up = d.breaker != BreakerState::open && d.health.status != HealthStatus::unavailable;
      can_serve = can_serve || up;
      states += fmt::format("{}{}: breaker {}{}", states.empty() ? "" : ", ", name, breaker_name(d.breaker),
                            d.health.status == HealthStatus::unavailable ? ", unavailable" : "");
    }
    if (!can_serve) out.push_back(fmt::format("alias '{}': no healthy deployment ({})", alias, states));
  }
  return out;
}

void serve_router(ServerOptions& o, std::shared_ptr<Router> router, const std::string& default_alias) {
  if (!default_alias.empty()) {
    o.default_model = default_alias;
  } else if (const auto aliases = router->aliases(); !aliases.empty()) {
    o.default_model = aliases.front();
  }
  o.unready = [router] { return router_unready(*router); };
  o.extra_metrics = [router, before = std::move(o.extra_metrics)] {
    std::string out = before ? before() : std::string();
    return out + router->metrics_text();
  };
}

}  // namespace cnai
