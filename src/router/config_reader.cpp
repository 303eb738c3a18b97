// check_router_config: a ConfigNode tree -> RouterConfig, every problem kept
// with its line (not only the first), ${VAR} references resolved as read.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "cnai/router/router_config.hpp"
#include "router/config_node.hpp"

namespace cnai {

std::string ConfigProblem::describe(const std::string& source) const {
  std::string where = source;
  if (line > 0) where += ":" + std::to_string(line) + (column > 0 ? ":" + std::to_string(column) : "");
  return where + ": " + (path.empty() ? "" : path + ": ") + (warning ? "warning: " : "") + message;
}

bool ConfigCheck::ok() const noexcept {
  for (const auto& p : problems)
    if (!p.warning) return false;
  return true;
}

std::string ConfigCheck::report(const std::string& source) const {
  std::string out;
  for (const auto& p : problems) out += p.describe(source) + "\n";
  return out;
}

namespace {

using router::ConfigNode;
using ms = std::chrono::milliseconds;

class Reader {
 public:
  Reader(EnvLookup env, std::vector<ConfigProblem>& problems) : env_(std::move(env)), problems_(problems) {}

  void error(const ConfigNode& at, const std::string& path, std::string msg) { add(at, path, std::move(msg), false); }
  void warn(const ConfigNode& at, const std::string& path, std::string msg) { add(at, path, std::move(msg), true); }

  // Expands ${VAR} and ${VAR:-default}; an unset VAR without default is a problem.
  std::optional<std::string> expand(const ConfigNode& n, const std::string& path) {
    const std::string& s = n.scalar;
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
      if (s.compare(i, 2, "${") != 0) {
        out += s[i++];
        continue;
      }
      const auto close = s.find('}', i);
      if (close == std::string::npos) {
        error(n, path, "unterminated ${ in '" + s + "'");
        return std::nullopt;
      }
      std::string ref = s.substr(i + 2, close - i - 2), fallback;
      bool has_default = false;
      if (auto d = ref.find(":-"); d != std::string::npos) {
        fallback = ref.substr(d + 2);
        ref = ref.substr(0, d);
        has_default = true;
      }
      if (!valid_var(ref)) {
        error(n, path, "'${" + ref + "}' is not an environment variable name");
        return std::nullopt;
      }
      auto v = lookup(ref);
      if (v && !v->empty()) out += *v;
      else if (has_default) out += fallback;
      else {
        error(n, path, "environment variable " + unresolved(ref));
        return std::nullopt;
      }
      i = close + 1;
    }
    return out;
  }

  std::optional<std::string> string(const ConfigNode& n, const std::string& path) {
    if (!n.is_scalar()) {
      error(n, path, "expected a text value");
      return std::nullopt;
    }
    return expand(n, path);
  }

  std::optional<double> number(const ConfigNode& n, const std::string& path, double lo = 0) {
    auto s = n.is_scalar() && !n.quoted ? expand(n, path) : std::nullopt;
    if (!n.is_scalar() || n.quoted) {
      error(n, path, "expected a number");
      return std::nullopt;
    }
    if (!s) return std::nullopt;
    double v = 0;
    const auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc() || p != s->data() + s->size() || !std::isfinite(v)) {
      error(n, path, "expected a number, got '" + *s + "'");
      return std::nullopt;
    }
    if (v < lo) {
      error(n, path, fmt::format("must be at least {}, got {}", lo, v));
      return std::nullopt;
    }
    return v;
  }

  // A whole number in [lo, hi]. The range is checked on the double, before any
  // cast: converting a double beyond the integer's range is undefined.
  std::optional<std::int64_t> integer(const ConfigNode& n, const std::string& path, std::int64_t lo = 0,
                                      std::int64_t hi = 1'000'000'000'000'000) {
    auto v = number(n, path, static_cast<double>(lo));
    if (!v) return std::nullopt;
    if (*v != std::trunc(*v)) {
      error(n, path, fmt::format("expected a whole number, got {}", *v));
      return std::nullopt;
    }
    if (*v > static_cast<double>(hi)) {
      error(n, path, fmt::format("must be at most {}, got {}", hi, *v));
      return std::nullopt;
    }
    return static_cast<std::int64_t>(*v);
  }

  // A whole number that a field of type int holds.
  std::optional<int> int_value(const ConfigNode& n, const std::string& path, int lo = 0) {
    auto v = integer(n, path, lo, std::numeric_limits<int>::max());
    if (!v) return std::nullopt;
    return static_cast<int>(*v);
  }

  std::optional<bool> boolean(const ConfigNode& n, const std::string& path) {
    if (n.is_scalar() && !n.quoted) {
      if (n.scalar == "true" || n.scalar == "yes" || n.scalar == "on") return true;
      if (n.scalar == "false" || n.scalar == "no" || n.scalar == "off") return false;
    }
    error(n, path, "expected true or false");
    return std::nullopt;
  }

  // "250ms", "2s", "5m", "1h", or a bare number of seconds.
  std::optional<ms> duration(const ConfigNode& n, const std::string& path) {
    auto s = n.is_scalar() ? expand(n, path) : std::nullopt;
    if (!n.is_scalar()) {
      error(n, path, "expected a duration (250ms, 2s, 5m, 1h)");
      return std::nullopt;
    }
    if (!s) return std::nullopt;
    double v = 0;
    const auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    const std::string unit(p, static_cast<std::size_t>(s->data() + s->size() - p));
    double scale = -1;
    if (unit.empty() || unit == "s") scale = 1000;
    else if (unit == "ms") scale = 1;
    else if (unit == "m" || unit == "min") scale = 60000;
    else if (unit == "h") scale = 3600000;
    if (ec != std::errc() || scale < 0 || !(v >= 0) || v * scale > 1e12) {
      error(n, path, "expected a duration (250ms, 2s, 5m, 1h), got '" + *s + "'");
      return std::nullopt;
    }
    return ms(static_cast<std::int64_t>(v * scale));
  }

  std::vector<std::string> strings(const ConfigNode& n, const std::string& path) {
    std::vector<std::string> out;
    if (n.is_scalar()) {
      if (auto s = string(n, path)) out.push_back(*s);
      return out;
    }
    if (!n.is_sequence()) {
      error(n, path, "expected a list");
      return out;
    }
    for (std::size_t i = 0; i < n.sequence.size(); ++i)
      if (auto s = string(n.sequence[i], path + "[" + std::to_string(i) + "]")) out.push_back(*s);
    return out;
  }

  // Flags keys not in `allowed` (a typo would otherwise be ignored silently).
  bool keys(const ConfigNode& n, const std::string& path, std::initializer_list<std::string_view> allowed) {
    if (!n.is_map()) {
      error(n, path, "expected a map of settings");
      return false;
    }
    for (std::size_t i = 0; i < n.map.size(); ++i) {
      const std::string& k = n.map[i].first;
      if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
      std::string names;
      for (auto a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
      ConfigNode at;
      at.line = n.key_lines.size() > i ? n.key_lines[i] : n.line;
      error(at, path.empty() ? k : path + "." + k, "unknown setting (expected one of: " + names + ")");
    }
    return true;
  }

  std::optional<std::string> lookup(const std::string& var) { return env_ ? env_(var) : std::nullopt; }
  /// Why a variable has no value: unset, or no lookup was given at all.
  std::string unresolved(const std::string& var) const {
    return env_ ? var + " is not set" : var + " is not resolved (no environment lookup was given)";
  }

  static bool valid_var(const std::string& s) {
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
    for (char c : s)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
    return true;
  }

 private:
  void add(const ConfigNode& at, const std::string& path, std::string msg, bool warning) {
    ConfigProblem p;
    p.line = at.line;
    p.column = at.column;
    p.path = path;
    p.message = std::move(msg);
    p.warning = warning;
    problems_.push_back(std::move(p));
  }
  EnvLookup env_;
  std::vector<ConfigProblem>& problems_;
};

std::optional<ErrorCode> code_named(const std::string& s) {
  for (int i = 0; i < 15; ++i)
    if (to_string(static_cast<ErrorCode>(i)) == s) return static_cast<ErrorCode>(i);
  return std::nullopt;
}

void read_breaker(Reader& r, const ConfigNode& n, const std::string& path, CircuitBreakerOptions& b) {
  if (!r.keys(n, path, {"window_calls", "window", "minimum_calls", "failure_rate", "cooldown", "max_cooldown",
                        "half_open_probes", "half_open_successes"}))
    return;
  for (const auto& [k, v] : n.map) {
    const std::string p = path + "." + k;
    if (k == "window_calls") { if (auto x = r.int_value(v, p, 1)) b.window_calls = *x; }
    else if (k == "window") { if (auto x = r.duration(v, p)) b.window = *x; }
    else if (k == "minimum_calls") { if (auto x = r.int_value(v, p, 1)) b.minimum_calls = *x; }
    else if (k == "failure_rate") {
      if (auto x = r.number(v, p)) {
        if (*x > 1) r.error(v, p, "must be a fraction in (0, 1]");
        else b.failure_rate = *x;
      }
    }
    else if (k == "cooldown") { if (auto x = r.duration(v, p)) b.cooldown = *x; }
    else if (k == "max_cooldown") { if (auto x = r.duration(v, p)) b.max_cooldown = *x; }
    else if (k == "half_open_probes") { if (auto x = r.int_value(v, p, 1)) b.half_open_probes = *x; }
    else if (k == "half_open_successes") { if (auto x = r.int_value(v, p, 1)) b.half_open_successes = *x; }
  }
}

void read_deployment(Reader& r, const std::string& name, const ConfigNode& n, const CircuitBreakerOptions& breaker,
                     DeploymentConfig& d) {
  const std::string path = "deployments." + name;
  d.name = name;
  d.line = n.line;
  d.deployment.name = name;
  d.deployment.breaker = breaker;
  if (!r.keys(n, path, {"type", "model", "model_path", "base_url", "api_key", "deployment", "api_version", "retries",
                        "context_window", "tags", "weight", "limits", "price", "timeouts", "breaker", "continue",
                        "local", "n_ctx", "threads", "provider", "capabilities"}))
    return;
  const ConfigNode* type = n.find("type");
  if (!type) {
    r.error(n, path, "needs a type (local, openai, azure, anthropic or external)");
    return;
  }
  if (auto t = r.string(*type, path + ".type")) {
    d.type = *t;
    if (d.type != "local" && d.type != "openai" && d.type != "azure" && d.type != "anthropic" && d.type != "external")
      r.error(*type, path + ".type", "unknown type '" + d.type + "' (expected local, openai, azure, anthropic or external)");
  }
  for (const auto& [k, v] : n.map) {
    const std::string p = path + "." + k;
    Deployment& dep = d.deployment;
    if (k == "model") { if (auto s = r.string(v, p)) d.model = dep.model = *s; }
    else if (k == "model_path") {
      if (auto s = r.string(v, p)) {
        d.model_path = *s;
        if (d.model_path.rfind("~/", 0) == 0) {  // the shell's ~, which the config's readers expect
          if (auto home = r.lookup("HOME"); home && !home->empty()) d.model_path = *home + d.model_path.substr(1);
          else r.error(v, p, "'~' cannot be expanded: " + r.unresolved("HOME"));
        }
      }
    }
    else if (k == "base_url") { if (auto s = r.string(v, p)) d.base_url = *s; }
    else if (k == "deployment") { if (auto s = r.string(v, p)) d.azure_deployment = *s; }
    else if (k == "api_version") { if (auto s = r.string(v, p)) d.api_version = *s; }
    else if (k == "provider") { if (auto s = r.string(v, p)) dep.provider = *s; }
    else if (k == "api_key") {
      // Secrets only by reference: the config names a variable, never a key.
      const std::string& s = v.scalar;
      if (!v.is_scalar() || s.size() < 4 || s.compare(0, 2, "${") != 0 || s.back() != '}' ||
          s.find("${", 2) != std::string::npos || s.find(":-") != std::string::npos ||
          !Reader::valid_var(s.substr(2, s.size() - 3))) {
        r.error(v, p, "must be an environment reference like ${OPENAI_API_KEY} (secrets are not written in configs)");
      } else {
        d.api_key_env = s.substr(2, s.size() - 3);
        auto value = r.lookup(d.api_key_env);
        if (!value || value->empty()) {
          d.enabled = false;
          d.disabled_reason = r.unresolved(d.api_key_env);
          r.warn(v, p, "left out: " + d.disabled_reason);
        }
      }
    }
    else if (k == "retries") { if (auto x = r.int_value(v, p, 0)) d.retries = *x; }
    else if (k == "context_window") { if (auto x = r.integer(v, p, 1)) dep.context_window = *x; }
    else if (k == "tags") dep.tags = r.strings(v, p);
    else if (k == "weight") { if (auto x = r.number(v, p, 0)) dep.weight = *x; }
    else if (k == "continue") { if (auto b = r.boolean(v, p)) dep.continue_streams = *b; }
    else if (k == "local") { if (auto b = r.boolean(v, p)) dep.local = *b; }
    else if (k == "n_ctx") { if (auto x = r.int_value(v, p, 1)) d.n_ctx = *x; }
    else if (k == "threads") { if (auto x = r.int_value(v, p, 1)) d.threads = *x; }
    else if (k == "breaker") read_breaker(r, v, p, dep.breaker);
    else if (k == "capabilities") {
      if (!r.keys(v, p, {"tools", "json_output", "images"})) continue;
      for (const auto& [ck, cv] : v.map) {
        auto b = r.boolean(cv, p + "." + ck);
        if (!b) continue;
        (ck == "tools" ? d.tools : ck == "json_output" ? d.json_output : d.images) = *b;
      }
    }
    else if (k == "limits") {
      if (!r.keys(v, p, {"rpm", "requests_per_minute", "tpm", "tokens_per_minute", "max_concurrency"})) continue;
      for (const auto& [lk, lv] : v.map) {
        const std::string lp = p + "." + lk;
        if (lk == "rpm" || lk == "requests_per_minute") { if (auto x = r.number(lv, lp)) dep.limits.requests_per_minute = *x; }
        else if (lk == "tpm" || lk == "tokens_per_minute") { if (auto x = r.number(lv, lp)) dep.limits.tokens_per_minute = *x; }
        else if (auto x = r.int_value(lv, lp, 0)) dep.limits.max_concurrency = *x;
      }
    }
    else if (k == "price") {
      if (!r.keys(v, p, {"input", "output", "cached_input"})) continue;
      ModelPrice price;
      for (const auto& [pk, pv] : v.map) {
        auto x = r.number(pv, p + "." + pk);
        if (!x) continue;
        (pk == "input" ? price.input_per_million : pk == "output" ? price.output_per_million : price.cached_input_per_million) = *x;
      }
      dep.price = price;
    }
    else if (k == "timeouts") {
      if (!r.keys(v, p, {"total", "first_token", "inter_chunk", "connect"})) continue;
      for (const auto& [tk, tv] : v.map) {
        auto x = r.duration(tv, p + "." + tk);
        if (!x) continue;
        if (tk == "total") dep.timeouts.total = *x;
        else if (tk == "first_token") dep.timeouts.first_token = *x;
        else if (tk == "inter_chunk") dep.timeouts.inter_chunk = *x;
        else d.connect_timeout = *x;
      }
    }
  }
  if (d.type == "local" && d.model_path.empty()) r.error(n, path, "a local deployment needs model_path");
  if ((d.type == "openai" || d.type == "anthropic") && d.model.empty()) r.error(n, path, "needs the model it sends upstream (model)");
  if (d.type == "azure" && (d.base_url.empty() || d.azure_deployment.empty()))
    r.error(n, path, "an azure deployment needs base_url (the resource endpoint) and deployment");
}

void read_group(Reader& r, const ConfigNode& n, const std::string& path, GroupConfig& g, int depth);

void read_member(Reader& r, const ConfigNode& n, const std::string& path, GroupConfig& g, int depth) {
  MemberConfig m;
  m.line = n.line;
  if (n.is_scalar()) {
    if (auto s = r.string(n, path)) m.deployment = *s;
    else return;
  } else if (n.is_map() && n.find("targets")) {
    m.group = std::make_shared<GroupConfig>();
    read_group(r, n, path, *m.group, depth + 1);
    if (const ConfigNode* w = n.find("weight"))
      if (auto x = r.number(*w, path + ".weight")) m.weight = *x;
  } else if (n.is_map() && n.find("deployment")) {
    if (!r.keys(n, path, {"deployment", "weight"})) return;
    if (auto s = r.string(*n.find("deployment"), path + ".deployment")) m.deployment = *s;
    if (const ConfigNode* w = n.find("weight"))
      if (auto x = r.number(*w, path + ".weight")) m.weight = *x;
  } else {
    r.error(n, path, "expected a deployment name, {deployment: NAME, weight: W} or a group {policy: ..., targets: [...]}");
    return;
  }
  g.members.push_back(std::move(m));
}

void read_group(Reader& r, const ConfigNode& n, const std::string& path, GroupConfig& g, int depth) {
  g.line = n.line;
  if (depth > 16) {
    r.error(n, path, "groups nest more than 16 levels");
    return;
  }
  const ConfigNode* targets = &n;
  if (n.is_map()) {
    if (!r.keys(n, path, {"policy", "targets", "max_queue_depth", "resume_queue_depth", "max_wait", "primary_count",
                          "tolerance", "weight", "rules", "cache"}))
      return;
    targets = n.find("targets");
    if (!targets) {
      r.error(n, path, "needs targets: [deployment, ...]");
      return;
    }
    for (const auto& [k, v] : n.map) {
      const std::string p = path + "." + k;
      if (k == "policy") {
        if (auto s = r.string(v, p)) {
          g.policy = *s;
          try {
            make_policy(g.policy);
          } catch (const Error& e) {
            r.error(v, p, e.what());
          }
        }
      }
      else if (k == "max_queue_depth") { if (auto x = r.int_value(v, p, 1)) g.overflow.max_queue_depth = *x; }
      else if (k == "resume_queue_depth") { if (auto x = r.int_value(v, p, 0)) g.overflow.resume_queue_depth = *x; }
      else if (k == "primary_count") { if (auto x = r.int_value(v, p, 1)) g.overflow.primary_count = *x; }
      else if (k == "max_wait") { if (auto x = r.duration(v, p)) g.overflow.max_wait = *x; }
      else if (k == "tolerance") { if (auto x = r.number(v, p)) g.latency_tolerance = *x; }
    }
  }
  if (!targets->is_sequence()) {
    r.error(*targets, path + ".targets", "expected a list of deployments or groups");
    return;
  }
  if (targets->sequence.empty()) r.error(*targets, path + ".targets", "is empty");
  for (std::size_t i = 0; i < targets->sequence.size(); ++i)
    read_member(r, targets->sequence[i], path + ".targets[" + std::to_string(i) + "]", g, depth);
}

std::optional<MetadataRule> read_rule(Reader& r, const ConfigNode& n, const std::string& path) {
  if (!r.keys(n, path, {"match", "action", "deployments"})) return std::nullopt;
  MetadataRule rule;
  const ConfigNode* match = n.find("match");
  const ConfigNode* action = n.find("action");
  if (!match || !action) {
    r.error(n, path, "a rule needs match: {key: value} and action");
    return std::nullopt;
  }
  if (!match->is_map() || match->map.empty()) {
    r.error(*match, path + ".match", "expected a map of metadata keys to values");
    return std::nullopt;
  }
  for (const auto& [k, v] : match->map)
    if (auto s = r.string(v, path + ".match." + k)) rule.match[k] = *s;
  auto a = r.string(*action, path + ".action");
  if (!a) return std::nullopt;
  using A = MetadataRule::Action;
  if (*a == "local_only" || *a == "local-only") rule.action = A::local_only;
  else if (*a == "prefer_local") rule.action = A::prefer_local;
  else if (*a == "prefer_remote") rule.action = A::prefer_remote;
  else if (*a == "only") rule.action = A::only;
  else if (*a == "exclude") rule.action = A::exclude;
  else {
    r.error(*action, path + ".action", "unknown action '" + *a + "' (expected local_only, prefer_local, prefer_remote, only or exclude)");
    return std::nullopt;
  }
  if (const ConfigNode* ds = n.find("deployments")) rule.deployments = r.strings(*ds, path + ".deployments");
  if ((rule.action == A::only || rule.action == A::exclude) && rule.deployments.empty())
    r.error(n, path, "actions only and exclude need deployments: [...]");
  return rule;
}

void read_rules(Reader& r, const ConfigNode& n, const std::string& path, std::vector<MetadataRule>& out) {
  if (!n.is_sequence()) {
    r.error(n, path, "expected a list of rules");
    return;
  }
  for (std::size_t i = 0; i < n.sequence.size(); ++i)
    if (auto rule = read_rule(r, n.sequence[i], path + "[" + std::to_string(i) + "]")) out.push_back(std::move(*rule));
}

void read_budget(Reader& r, const ConfigNode& n, const std::string& path, std::string name, std::vector<BudgetSpec>& out) {
  if (!r.keys(n, path, {"name", "scope", "deployment", "key", "match", "user", "limit", "period", "action"})) return;
  BudgetSpec b;
  b.name = std::move(name);
  bool has_limit = false;
  for (const auto& [k, v] : n.map) {
    const std::string p = path + "." + k;
    if (k == "name") { if (auto s = r.string(v, p)) b.name = *s; }
    else if (k == "scope") {
      auto s = r.string(v, p);
      if (!s) continue;
      if (*s == "global") b.scope = BudgetScope::global;
      else if (*s == "deployment") b.scope = BudgetScope::deployment;
      else if (*s == "user") b.scope = BudgetScope::user;
      else if (*s == "tag") b.scope = BudgetScope::tag;
      else r.error(v, p, "unknown scope '" + *s + "' (expected global, deployment, user or tag)");
    }
    else if (k == "deployment" || k == "key") { if (auto s = r.string(v, p)) b.target = *s; }
    else if (k == "match" || k == "user") { if (auto s = r.string(v, p)) b.match = *s; }
    else if (k == "limit") { if (auto x = r.number(v, p)) { b.limit_usd = *x; has_limit = true; } }
    else if (k == "period") {
      auto s = r.string(v, p);
      if (!s) continue;
      if (*s == "hour") b.period = BudgetPeriod::hour;
      else if (*s == "day") b.period = BudgetPeriod::day;
      else if (*s == "month") b.period = BudgetPeriod::month;
      else if (*s == "total") b.period = BudgetPeriod::total;
      else r.error(v, p, "unknown period '" + *s + "' (expected hour, day, month or total)");
    }
    else if (k == "action") {
      auto s = r.string(v, p);
      if (!s) continue;
      if (*s == "refuse") b.action = BudgetAction::refuse;
      else if (*s == "reroute_local") b.action = BudgetAction::reroute_local;
      else if (*s == "next") b.action = BudgetAction::next;
      else r.error(v, p, "unknown action '" + *s + "' (expected refuse, reroute_local or next)");
    }
  }
  if (b.name.empty()) r.error(n, path, "a budget needs a name");
  if (!has_limit) r.error(n, path, "a budget needs limit (USD)");
  if (b.scope == BudgetScope::deployment && b.target.empty()) r.error(n, path, "scope deployment needs deployment: NAME");
  if (b.scope == BudgetScope::tag && b.target.empty()) r.error(n, path, "scope tag needs key: METADATA_KEY");
  out.push_back(std::move(b));
}

void read_router(Reader& r, const ConfigNode& n, RouterConfig& c, CircuitBreakerOptions& breaker) {
  if (!r.keys(n, "router", {"name", "default_alias", "max_wait", "default_completion_tokens", "failures", "breaker"})) return;
  for (const auto& [k, v] : n.map) {
    const std::string p = "router." + k;
    if (k == "name") { if (auto s = r.string(v, p)) c.name = *s; }
    else if (k == "default_alias") { if (auto s = r.string(v, p)) c.default_alias = *s; }
    else if (k == "max_wait") { if (auto x = r.duration(v, p)) c.max_wait = *x; }
    else if (k == "default_completion_tokens") { if (auto x = r.integer(v, p, 1)) c.default_completion_tokens = *x; }
    else if (k == "breaker") read_breaker(r, v, p, breaker);
    else if (k == "failures") {
      if (!v.is_map()) {
        r.error(v, p, "expected a map of error classes to actions");
        continue;
      }
      for (const auto& [fk, fv] : v.map) {
        const std::string fp = p + "." + fk;
        auto code = code_named(fk);
        if (!code) {
          r.error(fv, fp, "unknown error class (expected an ErrorCode name such as rate_limited, timeout, unavailable)");
          continue;
        }
        auto a = r.string(fv, fp);
        if (!a) continue;
        if (*a == "next") c.failure_rules.set(*code, FailureAction::next);
        else if (*a == "stop") c.failure_rules.set(*code, FailureAction::stop);
        else if (*a == "context_fallback") c.failure_rules.set(*code, FailureAction::context_fallback);
        else r.error(fv, fp, "unknown action '" + *a + "' (expected next, stop or context_fallback)");
        if (*code == ErrorCode::cancelled && *a != "stop") r.error(fv, fp, "a cancelled request always stops");
      }
    }
  }
}

void read_cache(Reader& r, const ConfigNode& n, const std::string& path, std::optional<ResponseCacheOptions>& out) {
  ResponseCacheOptions c;
  if (n.is_scalar()) {
    auto b = r.boolean(n, path);
    if (b && *b) out = c;
    return;
  }
  if (!r.keys(n, path, {"ttl", "max_entries", "max_bytes", "share_across_tags", "tag_key"})) return;
  for (const auto& [k, v] : n.map) {
    const std::string p = path + "." + k;
    if (k == "ttl") { if (auto x = r.duration(v, p)) c.ttl = std::chrono::duration_cast<std::chrono::milliseconds>(*x); }
    else if (k == "max_entries") { if (auto x = r.integer(v, p, 1)) c.max_entries = static_cast<std::size_t>(*x); }
    else if (k == "max_bytes") { if (auto x = r.integer(v, p, 1)) c.max_bytes = static_cast<std::size_t>(*x); }
    else if (k == "share_across_tags") { if (auto b = r.boolean(v, p)) c.share_across_tags = *b; }
    else if (k == "tag_key") { if (auto s = r.string(v, p)) c.tag_key = *s; }
  }
  out = c;
}

// Members naming a deployment that is left out (unset key) are dropped with
// a warning; unknown names are errors.
void check_members(Reader& r, GroupConfig& g, const std::string& path, const RouterConfig& c) {
  std::vector<MemberConfig> kept;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < g.members.size(); ++i) {
    MemberConfig& m = g.members[i];
    ConfigNode at;
    at.line = m.line;
    const std::string p = path + ".targets[" + std::to_string(i) + "]";
    if (m.group) {
      check_members(r, *m.group, p, c);
      if (!m.group->members.empty()) kept.push_back(std::move(m));
      continue;
    }
    auto it = std::find_if(c.deployments.begin(), c.deployments.end(), [&](const DeploymentConfig& d) { return d.name == m.deployment; });
    if (it == c.deployments.end()) {
      r.error(at, p, "unknown deployment '" + m.deployment + "'");
      continue;
    }
    if (!seen.insert(m.deployment).second) {
      r.error(at, p, "lists '" + m.deployment + "' twice");
      continue;
    }
    if (!it->enabled) {
      r.warn(at, p, "'" + m.deployment + "' left out (" + it->disabled_reason + ")");
      continue;
    }
    kept.push_back(std::move(m));
  }
  g.members = std::move(kept);
}

void read_document(Reader& r, const ConfigNode& root, RouterConfig& c) {
  if (!r.keys(root, "", {"router", "deployments", "aliases", "rules", "budgets"})) return;
  CircuitBreakerOptions breaker;
  if (const ConfigNode* n = root.find("router")) read_router(r, *n, c, breaker);
  const ConfigNode* deps = root.find("deployments");
  if (!deps || !deps->is_map() || deps->map.empty()) {
    r.error(deps ? *deps : root, "deployments", "needs at least one deployment: deployments: {NAME: {type: ...}}");
  } else {
    for (const auto& [name, n] : deps->map) {
      DeploymentConfig d;
      read_deployment(r, name, n, breaker, d);
      c.deployments.push_back(std::move(d));
    }
  }
  const ConfigNode* aliases = root.find("aliases");
  if (!aliases || !aliases->is_map() || aliases->map.empty()) {
    r.error(aliases ? *aliases : root, "aliases", "needs at least one alias: aliases: {NAME: {targets: [...]}}");
  } else {
    for (const auto& [name, n] : aliases->map) {
      const std::string path = "aliases." + name;
      AliasConfig a;
      a.name = name;
      a.line = n.line;
      read_group(r, n, path, a.group, 0);
      if (n.is_map()) {
        if (const ConfigNode* rules = n.find("rules")) read_rules(r, *rules, path + ".rules", a.rules);
        if (const ConfigNode* cache = n.find("cache")) read_cache(r, *cache, path + ".cache", a.cache);
      }
      if (std::any_of(c.deployments.begin(), c.deployments.end(), [&](const DeploymentConfig& d) { return d.name == a.name; }))
        r.warn(n, path, "also a deployment's name: requests naming it go to the alias");
      check_members(r, a.group, path, c);
      ConfigNode at;
      at.line = a.line;
      if (a.group.members.empty()) r.error(at, path, "has no deployment left to serve it");
      c.aliases.push_back(std::move(a));
    }
  }
  if (const ConfigNode* rules = root.find("rules")) read_rules(r, *rules, "rules", c.rules);
  if (const ConfigNode* budgets = root.find("budgets")) {
    if (budgets->is_sequence()) {
      for (std::size_t i = 0; i < budgets->sequence.size(); ++i)
        read_budget(r, budgets->sequence[i], "budgets[" + std::to_string(i) + "]", "", c.budgets);
    } else if (budgets->is_map()) {
      for (const auto& [name, n] : budgets->map) read_budget(r, n, "budgets." + name, name, c.budgets);
    } else {
      r.error(*budgets, "budgets", "expected a list (or map by name) of budgets");
    }
    for (const BudgetSpec& b : c.budgets) {
      if (b.scope != BudgetScope::deployment) continue;
      if (std::none_of(c.deployments.begin(), c.deployments.end(), [&](const DeploymentConfig& d) { return d.name == b.target; }))
        r.error(*budgets, "budgets." + b.name, "names unknown deployment '" + b.target + "'");
    }
  }
  if (!c.default_alias.empty() &&
      std::none_of(c.aliases.begin(), c.aliases.end(), [&](const AliasConfig& a) { return a.name == c.default_alias; })) {
    const ConfigNode* n = root.find("router");
    r.error(n ? *n : root, "router.default_alias", "'" + c.default_alias + "' is not an alias");
  }
}

}  // namespace

ConfigCheck check_router_config(const std::string& text, const std::string& source, const EnvLookup& env) {
  (void)source;
  ConfigCheck check;
  router::ConfigNode root;
  router::ConfigSyntaxError syntax;
  if (!router::parse_config_document(text, root, syntax)) {
    ConfigProblem p;
    p.line = syntax.line;
    p.column = syntax.column;
    p.message = syntax.message;
    check.problems.push_back(std::move(p));
    return check;
  }
  if (!root.is_map()) {
    ConfigProblem p;
    p.line = root.line;
    p.message = "a router config is a map with deployments: and aliases:";
    check.problems.push_back(std::move(p));
    return check;
  }
  Reader r(env, check.problems);
  read_document(r, root, check.config);
  std::stable_sort(check.problems.begin(), check.problems.end(),
                   [](const ConfigProblem& a, const ConfigProblem& b) { return a.line < b.line; });
  return check;
}

ConfigCheck check_router_config_file(const std::string& path, const EnvLookup& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::not_found, "router config '" + path + "' cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  ConfigCheck check = check_router_config(text.str(), path, env);
  // Local model files must exist (relative paths: next to the config).
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  for (const DeploymentConfig& d : check.config.deployments) {
    if (d.type != "local" || d.model_path.empty() || !d.enabled) continue;
    std::filesystem::path p(d.model_path);
    if (p.is_relative()) p = dir / p;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(p, ec)) {
      ConfigProblem problem;
      problem.line = d.line;
      problem.path = "deployments." + d.name + ".model_path";
      problem.message = "model file " + p.string() + " does not exist";
      check.problems.push_back(std::move(problem));
    }
  }
  std::stable_sort(check.problems.begin(), check.problems.end(),
                   [](const ConfigProblem& a, const ConfigProblem& b) { return a.line < b.line; });
  return check;
}

}  // namespace cnai
