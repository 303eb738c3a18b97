// build_router and Router::from_config_*: a checked RouterConfig -> backends
// (local engines shared by path, the cloud clients with keys read from the
// environment only now) -> RouterSpec -> Router.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cnai/clients/anthropic_client.hpp"
#include "cnai/clients/openai_client.hpp"
#include "cnai/router/router_config.hpp"

namespace cnai {
namespace {

std::string env_value(const RouterBuildOptions& o, const std::string& var) {
  if (var.empty()) return {};
  return o.env ? o.env(var).value_or("") : std::string();
}

void apply_common(const DeploymentConfig& d, ClientCommonOptions& c) {
  c.retries.max_retries = d.retries;
  if (d.connect_timeout.count() > 0) c.timeouts.connect = d.connect_timeout;
  if (d.deployment.timeouts.total.count() > 0) {
    c.timeouts.total = d.deployment.timeouts.total;
    c.timeouts.first_byte = std::min(c.timeouts.first_byte, d.deployment.timeouts.total);
  }
}

void apply_capabilities(const DeploymentConfig& d, BackendCapabilities& c) {
  if (d.tools) c.tools = *d.tools;
  if (d.json_output) c.json_output = *d.json_output;
  if (d.images) c.images = *d.images;
  if (d.deployment.context_window > 0) c.context_window = d.deployment.context_window;
}

std::shared_ptr<Backend> make_backend(const DeploymentConfig& d, const RouterBuildOptions& o, const std::string& base_dir,
                                      std::map<std::string, std::shared_ptr<LocalEngine>>& engines) {
  if (auto it = o.backends.find(d.name); it != o.backends.end()) return it->second;
  if (d.type == "external")
    throw Error(ErrorCode::invalid_argument, "router: deployment '" + d.name + "' is external but RouterBuildOptions::backends has none by that name");
  if (d.type == "local") {
    std::filesystem::path p(d.model_path);
    if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
    const std::string path = p.lexically_normal().string();
    const std::string key = path + "#" + std::to_string(d.n_ctx) + "#" + std::to_string(d.threads);
    if (auto it = o.local_engines.find(d.model_path); it != o.local_engines.end()) return it->second;
    if (auto it = o.local_engines.find(path); it != o.local_engines.end()) return it->second;
    if (auto it = engines.find(key); it != engines.end()) return it->second;
    LocalEngineOptions lo = o.local_options;
    if (d.n_ctx > 0) lo.n_ctx = d.n_ctx;
    if (d.threads > 0) lo.model.threads = d.threads;
    lo.backend_name = d.name;
    auto engine = LocalEngine::load(path, lo);
    engines.emplace(key, engine);
    return engine;
  }
  if (d.type == "anthropic") {
    AnthropicOptions a;
    if (!d.base_url.empty()) a.base_url = d.base_url;
    a.api_key = env_value(o, d.api_key_env);
    a.backend_name = d.name;
    apply_common(d, a.common);
    apply_capabilities(d, a.capabilities);
    return std::make_shared<AnthropicClient>(a);
  }
  OpenAiOptions c;
  if (!d.base_url.empty()) c.base_url = d.base_url;
  c.api_key = env_value(o, d.api_key_env);
  c.backend_name = d.name;
  if (d.type == "azure") {
    AzureOptions az;
    az.deployment = d.azure_deployment;
    if (!d.api_version.empty()) az.api_version = d.api_version;
    c.azure = az;
  }
  apply_common(d, c.common);
  apply_capabilities(d, c.capabilities);
  return std::make_shared<OpenAiClient>(c);
}

RouteGroup make_group(const GroupConfig& g, const std::string& name) {
  RouteGroup out;
  out.name = name;
  if (g.policy == "overflow") out.policy = std::make_shared<OverflowPolicy>(g.overflow);
  else if (g.policy == "latency") out.policy = std::make_shared<LatencyPolicy>(g.latency_tolerance);
  else out.policy = make_policy(g.policy);
  for (std::size_t i = 0; i < g.members.size(); ++i) {
    const MemberConfig& m = g.members[i];
    RouteMember rm;
    rm.weight = m.weight;
    if (m.group) rm.group = std::make_shared<RouteGroup>(make_group(*m.group, name + "/" + std::to_string(i)));
    else rm.deployment = m.deployment;
    out.members.push_back(std::move(rm));
  }
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::not_found, "router config '" + path + "' cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::shared_ptr<Router> from_text(const std::string& text, const RouterBuildOptions& options, const std::string& source,
                                  const std::string& base_dir) {
  ConfigCheck check = check_router_config(text, source, options.env);
  if (!check.ok()) {
    std::string report;
    for (const auto& p : check.problems)
      if (!p.warning) report += "\n  " + p.describe(source);
    throw Error(ErrorCode::invalid_argument, "router config " + source + " has problems:" + report);
  }
  return build_router(check.config, options, base_dir);
}

}  // namespace

std::shared_ptr<Router> build_router(const RouterConfig& config, const RouterBuildOptions& options,
                                     const std::string& base_dir) {
  RouterSpec spec;
  spec.name = config.name;
  spec.default_alias = config.default_alias;
  spec.max_wait = config.max_wait;
  spec.default_completion_tokens = config.default_completion_tokens;
  spec.failure_rules = config.failure_rules;
  spec.rules = config.rules;
  // A budget on a deployment left out (its key unset) has nothing to limit.
  for (const BudgetSpec& b : config.budgets) {
    if (b.scope == BudgetScope::deployment) {
      auto d = std::find_if(config.deployments.begin(), config.deployments.end(),
                            [&](const DeploymentConfig& x) { return x.name == b.target; });
      if (d != config.deployments.end() && !d->enabled) continue;
    }
    spec.budgets.push_back(b);
  }
  spec.spend_store = options.spend_store;
  spec.observer = options.observer;
  std::map<std::string, std::shared_ptr<LocalEngine>> engines;
  for (const DeploymentConfig& d : config.deployments) {
    if (!d.enabled) continue;
    Deployment dep = d.deployment;
    dep.backend = make_backend(d, options, base_dir, engines);
    spec.deployments.push_back(std::move(dep));
  }
  for (const AliasConfig& a : config.aliases) {
    AliasSpec s;
    s.name = a.name;
    s.group = make_group(a.group, a.name);
    s.rules = a.rules;
    s.cache = a.cache;
    if (s.cache && options.response_cache_store) s.cache->store = options.response_cache_store;
    spec.aliases.push_back(std::move(s));
  }
  return Router::create(std::move(spec));
}

std::shared_ptr<Router> Router::from_config_file(const std::string& path, const RouterBuildOptions& options) {
  const std::string text = read_text(path);
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  return from_text(text, options, path, dir);
}

std::shared_ptr<Router> Router::from_config_string(const std::string& text, const RouterBuildOptions& options,
                                                   const std::string& source) {
  return from_text(text, options, source, ".");
}

}  // namespace cnai
