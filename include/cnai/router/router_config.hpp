// The router's config file (YAML, or JSON) as plain data: deployments,
// aliases with nested policy groups, rules, budgets, the failure table.
// check_router_config reads it and lists every problem with its line, as
// `cnai router check` prints them; secrets appear only as ${ENV_VAR} names.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cnai/router/router.hpp"

namespace cnai {

struct ConfigProblem {
  int line = 0;  // 1-based; 0: the file as a whole
  int column = 0;
  std::string path;  // where in the document: "deployments.gpt.price.input"
  std::string message;
  bool warning = false;  // e.g. a deployment left out because its key is unset
  /// "SOURCE:LINE:COLUMN: PATH: MESSAGE" ("warning: " before MESSAGE for warnings).
  std::string describe(const std::string& source) const;
};

struct DeploymentConfig {
  std::string name;
  std::string type;  // local | openai | azure | anthropic | external
  std::string model;
  std::string model_path;  // local: the GGUF file (relative: to the config's folder)
  std::string base_url;
  std::string api_key_env;  // the variable named by api_key: ${VAR}; its value is read only when building
  std::string azure_deployment;
  std::string api_version;
  int retries = 1;  // the client's own retries before the router moves on
  std::chrono::milliseconds connect_timeout{0};
  int n_ctx = 0;    // local
  int threads = 0;  // local
  std::optional<bool> tools, json_output, images;  // override what the client assumes
  Deployment deployment;  // limits, price, context window, tags, weight, timeouts, breaker, continue
  bool enabled = true;
  std::string disabled_reason;
  int line = 0;
};

struct GroupConfig;
struct MemberConfig {
  std::string deployment;
  std::shared_ptr<GroupConfig> group;
  double weight = 1;
  int line = 0;
};
struct GroupConfig {
  std::string policy = "ordered";
  OverflowOptions overflow;
  double latency_tolerance = 0.1;
  std::vector<MemberConfig> members;
  int line = 0;
};

struct AliasConfig {
  std::string name;
  GroupConfig group;
  std::vector<MetadataRule> rules;
  std::optional<ResponseCacheOptions> cache;
  int line = 0;
};

struct RouterConfig {
  std::string name = "router";
  std::string default_alias;
  std::chrono::milliseconds max_wait{0};
  std::int64_t default_completion_tokens = 256;
  FailureRules failure_rules;
  std::vector<DeploymentConfig> deployments;
  std::vector<AliasConfig> aliases;
  std::vector<MetadataRule> rules;
  std::vector<BudgetSpec> budgets;
};

struct ConfigCheck {
  RouterConfig config;
  std::vector<ConfigProblem> problems;  // errors and warnings, in document order
  bool ok() const noexcept;             // no errors (warnings allowed)
  /// Every problem, one per line, as ConfigProblem::describe.
  std::string report(const std::string& source) const;
};


/// Reads a config from text (JSON when its first non-blank character is '{',
/// else YAML). Never throws for a bad config: the problems say what is wrong.
/// `env` resolves ${VAR} and ${VAR:-default}. Without one nothing is read
/// from the environment: ${VAR:-default} takes its default, another ${VAR}
/// is an error naming it, and a deployment whose api_key is a reference is
/// left out with a warning (as for an unset variable).
ConfigCheck check_router_config(const std::string& text, const std::string& source = "<config>",
                                const EnvLookup& env = {});
/// The same for a file. Error(not_found) when it cannot be read.
ConfigCheck check_router_config_file(const std::string& path, const EnvLookup& env = {});

/// Builds the router a checked config describes. `base_dir` resolves
/// relative model paths. Errors: those of loading local models;
/// invalid_argument for an `external` deployment missing from options.backends.
std::shared_ptr<Router> build_router(const RouterConfig& config, const RouterBuildOptions& options = {},
                                     const std::string& base_dir = ".");

}  // namespace cnai
