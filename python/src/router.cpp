// The Router (cnai/router/router.hpp) as a Backend, built from code: named
// deployments (any Backends: local engines, cloud clients, other routers)
// behind aliases, each alias a group ranked by a named policy. Its aliases,
// its deployments' state and its metrics. (ChatResponse.route is in types.cpp.)
#include <cnai/router/policy.hpp>
#include <cnai/router/router.hpp>
#include <cnai/router/router_config.hpp>

#include <pybind11/stl.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"

namespace cnai::python {

namespace {

py::dict status_dict(const DeploymentStatus& s) {
  py::dict d;
  d["name"] = s.name;
  d["breaker"] = std::string(to_string(s.breaker));
  d["in_flight"] = s.in_flight;
  d["health"] = std::string(to_string(s.health.status));
  d["ttft_ms"] = s.ttft_ms;
  d["tokens_per_s"] = s.tokens_per_s;
  return d;
}

// deployments: {name: Backend or (Backend, model name)}; aliases: {alias:
// [deployment, ...]}, tried in `policy` order (insertion order kept).
std::shared_ptr<Router> router_from(const py::dict& deployments, const py::dict& aliases, const std::string& policy,
                                    const std::string& name, const std::string& default_alias) {
  RouterSpec spec;
  spec.name = name;
  spec.default_alias = default_alias;
  for (auto [key, value] : deployments) {
    Deployment d;
    d.name = key.cast<std::string>();
    if (py::isinstance<py::tuple>(value)) {
      auto t = value.cast<py::tuple>();
      if (t.size() != 2) throw Error(ErrorCode::invalid_argument, "deployment '" + d.name + "': (backend, model)");
      d.backend = t[0].cast<std::shared_ptr<Backend>>();
      d.model = t[1].cast<std::string>();
    } else {
      d.backend = value.cast<std::shared_ptr<Backend>>();
    }
    spec.deployments.push_back(std::move(d));
  }
  for (auto [key, value] : aliases) {
    AliasSpec a;
    a.name = key.cast<std::string>();
    a.group.policy = make_policy(policy);
    for (const auto& member : value.cast<std::vector<std::string>>()) a.group.members.push_back({.deployment = member});
    spec.aliases.push_back(std::move(a));
  }
  return Router::create(std::move(spec));
}

}  // namespace

void register_router(py::module_& m) {
  py::class_<Router, Backend, std::shared_ptr<Router>>(m, "Router",
      "Deployments (local models, cloud APIs, other routers) behind aliases, chosen per request by a policy, "
      "with circuit breakers and failover. A request's model names an alias or a deployment.")
      .def(py::init(&router_from), py::arg("deployments"), py::arg("aliases"), py::kw_only(),
           py::arg("policy") = "ordered", py::arg("name") = "router", py::arg("default_alias") = "",
           "deployments: {name: Backend | (Backend, model)}; aliases: {alias: [deployment, ...]}; policy: "
           "ordered, cost, latency, least_busy, overflow or weighted.")
      .def_static("from_config_file", [](const std::string& path, std::optional<std::map<std::string, std::string>> env) {
        RouterBuildOptions options;
        options.env = env_lookup(std::move(env));
        py::gil_scoped_release unlocked;  // loading local models takes a while
        return Router::from_config_file(path, options);
      }, py::arg("path"), py::kw_only(), py::arg("env") = py::none(),
           "A router from a YAML or JSON config (deployments, aliases, policies, rules, budgets); secrets as "
           "${ENV_VAR} references, resolved from `env` (a mapping; default: the process environment, "
           "os.environ). Errors: InvalidArgumentError listing each problem with its line.")
      .def("aliases", &Router::aliases)
      .def("deployments", [](const Router& r) {
        py::list out;
        for (const auto& s : r.deployments()) out.append(status_dict(s));
        return out;
      }, "Each deployment's breaker state, calls in flight, health and measured speed.")
      .def("metrics_text", &Router::metrics_text, "Prometheus text exposition of the router's metrics.");
}

}  // namespace cnai::python
