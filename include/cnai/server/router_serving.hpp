// Serving a Router over HttpServer: what the server needs of it beyond the
// Backend interface — the alias that requests naming no model go to, a
// readiness check per alias (/readyz), and its metrics on /metrics.
// `cnai serve --config` and `cnai worker --config` build their options here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cnai/router/router.hpp"
#include "cnai/server/http_server.hpp"

namespace cnai {

/// Fills `o` for serving `router`: default_model = `default_alias` (empty:
/// the router's first alias, as Router itself does), unready = the aliases
/// with no deployment that can serve (router_unready), and the router's
/// Prometheus text after any extra_metrics already set. Keeps `router` alive.
void serve_router(ServerOptions& o, std::shared_ptr<Router> router, const std::string& default_alias = {});

/// One reason per alias that has no deployment able to serve now — its
/// breaker open, or its backend reporting itself unavailable — naming the
/// alias and each deployment's state; empty when every alias can serve.
std::vector<std::string> router_unready(const Router& router);

}  // namespace cnai
