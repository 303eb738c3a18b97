// `cnai router check FILE`: reads a router config (YAML or JSON) as the
// server and the library would, prints every problem with its line, then what
// the config describes. Exit 0 when it is usable (warnings allowed), 1 if not.
// Secrets are never printed: a key shows as the variable that holds it.
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli.hpp"
#include "cnai/core/error.hpp"
#include "cnai/router/router_config.hpp"

namespace {

constexpr const char* kUsage =
    "usage: cnai router check FILE    validate a router config (YAML or JSON) and list its problems\n";

std::string group_text(const cnai::GroupConfig& g) {
  std::string out = g.policy + "(";
  for (std::size_t i = 0; i < g.members.size(); ++i) {
    const auto& m = g.members[i];
    if (i) out += ", ";
    out += m.group ? group_text(*m.group) : m.deployment;
    if (m.weight != 1) out += " x" + std::to_string(m.weight).substr(0, 4);
  }
  return out + ")";
}

void print_summary(const cnai::RouterConfig& c) {
  int left_out = 0;
  for (const auto& d : c.deployments) left_out += d.enabled ? 0 : 1;
  std::printf("router '%s': %zu deployment(s)%s, %zu alias(es), %zu rule(s), %zu budget(s)\n", c.name.c_str(),
              c.deployments.size(), left_out ? (", " + std::to_string(left_out) + " left out").c_str() : "",
              c.aliases.size(), c.rules.size(), c.budgets.size());
  for (const auto& d : c.deployments) {
    std::string what = d.type;
    if (!d.model.empty()) what += " " + d.model;
    if (!d.model_path.empty()) what += " " + d.model_path;
    if (!d.base_url.empty()) what += " at " + d.base_url;
    if (!d.api_key_env.empty()) what += ", key from $" + d.api_key_env;
    if (d.deployment.context_window > 0) what += ", context " + std::to_string(d.deployment.context_window);
    if (!d.enabled) what += "  [left out: " + d.disabled_reason + "]";
    std::printf("  deployment %s: %s\n", d.name.c_str(), what.c_str());
  }
  for (const auto& a : c.aliases) {
    std::printf("  alias %s%s: %s\n", a.name.c_str(), a.name == c.default_alias ? " (default)" : "",
                group_text(a.group).c_str());
  }
}

int run_router(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0] == "-h" || argv[0] == "--help") {
    std::fputs(kUsage, argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  if (argv[0] != "check" || argv.size() != 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string& path = argv[1];
  cnai::ConfigCheck check = cnai::check_router_config_file(path, cnai::cli::process_environment);  // ${VAR}: this shell's
  const std::string report = check.report(path);
  std::fwrite(report.data(), 1, report.size(), stderr);
  if (!check.ok()) {
    std::size_t errors = 0;
    for (const auto& p : check.problems) errors += p.warning ? 0 : 1;
    std::fprintf(stderr, "%s: %zu problem(s); the router cannot be built from it\n", path.c_str(), errors);
    return 1;
  }
  print_summary(check.config);
  std::printf("%s: OK\n", path.c_str());
  return 0;
}

const bool registered =
    cnai::cli::register_command({"router", "check a router config (router check FILE)", &run_router});

}  // namespace
