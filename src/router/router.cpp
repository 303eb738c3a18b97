// Router: building one from a RouterSpec (checks, compiled alias trees, what
// each deployment's backend can do), the Backend calls, status and health.
#include "cnai/router/router.hpp"

#include <algorithm>
#include <set>

#include "cnai/clients/anthropic_client.hpp"
#include "cnai/clients/openai_client.hpp"
#include "router/route_call.hpp"
#include "router/router_state.hpp"

namespace cnai {

using router::AliasState;
using router::CompiledGroup;
using router::DeploymentState;

std::string_view to_string(FailureAction a) noexcept {
  switch (a) {
    case FailureAction::next: return "next";
    case FailureAction::stop: return "stop";
    case FailureAction::context_fallback: return "context_fallback";
  }
  return "unknown";
}

std::array<FailureAction, 15> FailureRules::defaults() noexcept {
  std::array<FailureAction, 15> a{};
  a.fill(FailureAction::next);
  a[static_cast<std::size_t>(ErrorCode::context_overflow)] = FailureAction::context_fallback;
  a[static_cast<std::size_t>(ErrorCode::invalid_argument)] = FailureAction::stop;
  a[static_cast<std::size_t>(ErrorCode::cancelled)] = FailureAction::stop;
  return a;
}

RoutingError::RoutingError(ErrorCode code, std::string message, std::optional<int> upstream_status,
                           std::string upstream_message, std::vector<RouteAttempt> attempts,
                           std::vector<std::string> skipped)
    : Error(upstream_status ? Error(code, std::move(message), *upstream_status, std::move(upstream_message))
                            : Error(code, std::move(message))),
      attempts_(std::move(attempts)),
      skipped_(std::move(skipped)) {}

namespace router {

void MovingAverage::add(double v) noexcept {
  // alpha 0.2: about the last ten calls matter.
  double cur = value_.load(std::memory_order_relaxed);
  double next;
  do {
    next = cur == 0 ? v : cur * 0.8 + v * 0.2;
  } while (!value_.compare_exchange_weak(cur, next, std::memory_order_relaxed));
}

AliasState::~AliasState() = default;

}  // namespace router

namespace {

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorCode::invalid_argument, "router: " + what); }

std::string provider_of(const Deployment& d) {
  if (!d.provider.empty()) return d.provider;
  if (dynamic_cast<const LocalEngine*>(d.backend.get())) return "cnai";
  if (auto* o = dynamic_cast<const OpenAiClient*>(d.backend.get())) return o->options().azure ? "azure.ai.openai" : "openai";
  if (dynamic_cast<const AnthropicClient*>(d.backend.get())) return "anthropic";
  if (dynamic_cast<const Router*>(d.backend.get())) return "cnai.router";
  return d.backend->name();
}

// The price a deployment's pre-call estimate uses: configured, else its client's table.
std::optional<ModelPrice> price_of(const Deployment& d) {
  if (d.price) return d.price;
  if (dynamic_cast<const LocalEngine*>(d.backend.get())) return std::nullopt;
  std::shared_ptr<PriceTable> table;
  if (auto* o = dynamic_cast<const OpenAiClient*>(d.backend.get())) table = o->options().common.prices;
  if (auto* a = dynamic_cast<const AnthropicClient*>(d.backend.get())) table = a->options().common.prices;
  if (!table || d.model.empty()) return std::nullopt;
  return table->find(d.model);
}

std::unique_ptr<DeploymentState> make_state(Deployment d, std::size_t id) {
  if (d.name.empty()) bad("a deployment has no name");
  if (!d.backend) bad("deployment '" + d.name + "' has no backend");
  auto s = std::make_unique<DeploymentState>(std::move(d));
  s->id = id;
  s->caps = s->spec.backend->capabilities();
  if (s->spec.context_window > 0) s->caps.context_window = s->spec.context_window;
  if (s->spec.local) s->caps.local = *s->spec.local;
  s->local_engine = dynamic_cast<LocalEngine*>(s->spec.backend.get());
  s->provider = provider_of(s->spec);
  s->model_label = s->spec.model.empty() ? (s->caps.models.empty() ? s->spec.name : s->caps.models.front()) : s->spec.model;
  s->price = price_of(s->spec);
  return s;
}

void compile(const RouteGroup& g, const std::string& path, Router::Impl& impl, CompiledGroup& out, int depth) {
  if (depth > 16) bad("group '" + path + "' nests more than 16 levels");
  out.name = g.name.empty() ? path : g.name;
  out.policy = g.policy ? g.policy : std::make_shared<OrderedPolicy>();
  if (g.members.empty()) bad("group '" + out.name + "' has no members");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < g.members.size(); ++i) {
    const RouteMember& m = g.members[i];
    CompiledGroup::Member cm;
    cm.weight = m.weight;
    if (m.group) {
      cm.group = std::make_unique<CompiledGroup>();
      compile(*m.group, out.name + "/" + std::to_string(i), impl, *cm.group, depth + 1);
    } else {
      auto it = impl.by_name.find(m.deployment);
      if (it == impl.by_name.end()) bad("group '" + out.name + "' names unknown deployment '" + m.deployment + "'");
      if (!seen.insert(m.deployment).second) bad("group '" + out.name + "' lists '" + m.deployment + "' twice");
      cm.deployment = it->second;
    }
    out.members.push_back(std::move(cm));
  }
}

std::unique_ptr<AliasState> make_alias(const AliasSpec& a, Router::Impl& impl) {
  auto s = std::make_unique<AliasState>();
  s->name = a.name;
  compile(a.group, a.name, impl, s->root, 0);
  std::vector<MetadataRule> rules = impl.spec.rules;
  rules.insert(rules.end(), a.rules.begin(), a.rules.end());
  if (!rules.empty()) s->rules = std::make_unique<MetadataRulesPolicy>(std::move(rules));
  if (a.cache) {
    s->cache = a.cache;
    if (!s->cache->store)
      s->cache->store = std::make_shared<InMemoryResponseCache>(InMemoryResponseCacheOptions{a.cache->max_entries, a.cache->max_bytes});
  }
  return s;
}

}  // namespace

std::shared_ptr<Router> Router::create(RouterSpec spec) {
  auto impl = std::make_unique<Impl>();
  impl->spec = std::move(spec);
  RouterSpec& s = impl->spec;
  if (s.deployments.empty()) bad("no deployments");
  if (s.aliases.empty()) bad("no aliases");
  for (std::size_t i = 0; i < s.deployments.size(); ++i) {
    auto d = make_state(s.deployments[i], i);
    if (!impl->by_name.emplace(d->spec.name, d.get()).second) bad("deployment '" + d->spec.name + "' is defined twice");
    impl->deployments.push_back(std::move(d));
  }
  for (const AliasSpec& a : s.aliases) {
    if (a.name.empty()) bad("an alias has no name");
    auto alias = make_alias(a, *impl);
    if (!impl->alias_by_name.emplace(a.name, alias.get()).second) bad("alias '" + a.name + "' is defined twice");
    impl->aliases.push_back(std::move(alias));
  }
  for (const BudgetSpec& b : s.budgets) {
    if (b.scope == BudgetScope::deployment && !impl->by_name.count(b.target))
      bad("budget '" + b.name + "' names unknown deployment '" + b.target + "'");
    if (b.scope == BudgetScope::tag && b.target.empty()) bad("budget '" + b.name + "' (scope tag) names no metadata key");
    if (!(b.limit_usd >= 0)) bad("budget '" + b.name + "' has a negative limit");
  }
  if (s.default_alias.empty()) {
    impl->default_alias = impl->aliases.front().get();
  } else {
    auto it = impl->alias_by_name.find(s.default_alias);
    if (it == impl->alias_by_name.end()) bad("default alias '" + s.default_alias + "' is not an alias");
    impl->default_alias = it->second;
  }
  for (const auto& d : impl->deployments) {
    if (impl->alias_by_name.count(d->spec.name)) continue;  // the alias wins the name
    auto direct = std::make_unique<AliasState>();
    direct->name = d->spec.name;
    direct->root.name = d->spec.name;
    direct->root.policy = std::make_shared<OrderedPolicy>();
    CompiledGroup::Member m;
    m.deployment = d.get();
    direct->root.members.push_back(std::move(m));
    if (!s.rules.empty()) direct->rules = std::make_unique<MetadataRulesPolicy>(s.rules);
    impl->direct.emplace(d->spec.name, std::move(direct));
  }
  impl->budgets = std::make_unique<router::BudgetBook>(s.budgets, s.spend_store);
  return std::shared_ptr<Router>(new Router(std::move(impl)));
}

Router::Router(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Router::~Router() = default;

const std::string& Router::name() const noexcept { return impl_->spec.name; }

BackendCapabilities Router::capabilities() const {
  BackendCapabilities c;
  c.streaming = false;
  c.local = true;
  for (const auto& a : impl_->aliases) c.models.push_back(a->name);
  for (const auto& d : impl_->deployments) {
    if (!impl_->alias_by_name.count(d->spec.name)) c.models.push_back(d->spec.name);
    c.context_window = std::max(c.context_window, d->caps.context_window);
    c.streaming = c.streaming || d->caps.streaming;
    c.tools = c.tools || d->caps.tools;
    c.json_output = c.json_output || d->caps.json_output;
    c.images = c.images || d->caps.images;
    c.embeddings = c.embeddings || d->caps.embeddings;
    c.local = c.local && d->caps.local;
  }
  return c;
}

BackendHealth Router::health() const {
  BackendHealth h;
  int closed = 0, half = 0;
  std::string open_names;
  for (const auto& d : impl_->deployments) {
    const BreakerState b = d->breaker.state();
    if (b == BreakerState::closed) ++closed;
    if (b == BreakerState::half_open) ++half;
    if (b == BreakerState::open) open_names += (open_names.empty() ? "" : ", ") + d->spec.name;
    const BackendHealth dh = d->spec.backend->health();
    h.queue_depth += dh.queue_depth;
    h.running += std::max(dh.running, d->in_flight.load(std::memory_order_relaxed));
    h.estimated_wait_ms = std::max(h.estimated_wait_ms, dh.estimated_wait_ms);
  }
  if (closed == 0) h.status = half > 0 ? HealthStatus::degraded : HealthStatus::unavailable;
  else if (!open_names.empty()) h.status = HealthStatus::degraded;
  if (!open_names.empty()) h.detail = "cooling down: " + open_names;
  return h;
}

std::vector<std::string> Router::aliases() const {
  std::vector<std::string> out;
  for (const auto& a : impl_->aliases) out.push_back(a->name);
  return out;
}

std::vector<std::string> Router::alias_deployments(const std::string& alias) const {
  std::vector<std::string> out;
  auto it = impl_->alias_by_name.find(alias);
  if (it == impl_->alias_by_name.end()) return out;
  auto walk = [&](const router::CompiledGroup& g, auto& self) -> void {
    for (const auto& m : g.members) {
      if (m.deployment && std::find(out.begin(), out.end(), m.deployment->spec.name) == out.end()) {
        out.push_back(m.deployment->spec.name);
      }
      if (m.group) self(*m.group, self);
    }
  };
  walk(it->second->root, walk);
  return out;
}

std::vector<DeploymentStatus> Router::deployments() const {
  std::vector<DeploymentStatus> out;
  for (const auto& d : impl_->deployments) {
    DeploymentStatus s;
    s.name = d->spec.name;
    s.breaker = d->breaker.state();
    s.in_flight = d->in_flight.load(std::memory_order_relaxed);
    s.health = d->spec.backend->health();
    s.ttft_ms = d->ttft_ms.value();
    s.tokens_per_s = d->tokens_per_s.value();
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

AliasState& resolve(Router::Impl& impl, const std::string& model) {
  if (model.empty()) return *impl.default_alias;
  if (auto it = impl.alias_by_name.find(model); it != impl.alias_by_name.end()) return *it->second;
  if (auto it = impl.direct.find(model); it != impl.direct.end()) return *it->second;
  std::string names;
  for (const auto& a : impl.aliases) names += (names.empty() ? "" : ", ") + a->name;
  throw Error(ErrorCode::not_found, "router '" + impl.spec.name + "' has no alias or deployment '" + model +
                                        "' (aliases: " + names + ")");
}

}  // namespace

ChatResponse Router::do_chat(const ChatRequest& request, std::stop_token stop) {
  router::RouteCall call(*impl_, resolve(*impl_, request.model), request, std::move(stop), nullptr);
  return call.run();
}

ChatResponse Router::do_chat_stream(const ChatRequest& request, const ChunkCallback& on_chunk, std::stop_token stop) {
  router::RouteCall call(*impl_, resolve(*impl_, request.model), request, std::move(stop), &on_chunk);
  return call.run();
}

EmbeddingResponse Router::do_embeddings(const EmbeddingRequest& request, std::stop_token stop) {
  AliasState& alias = resolve(*impl_, request.model);
  std::vector<DeploymentState*> order;
  auto walk = [&](auto&& self, const CompiledGroup& g) -> void {
    for (const auto& m : g.members) {
      if (m.group) self(self, *m.group);
      else if (m.deployment->caps.embeddings) order.push_back(m.deployment);
    }
  };
  walk(walk, alias.root);
  std::string tried;
  std::optional<Error> last;
  for (DeploymentState* d : order) {
    const auto admission = d->breaker.admit();
    if (admission == CircuitBreaker::Admission::rejected) {
      tried += "; " + d->spec.name + ": cooling down (not tried)";
      continue;
    }
    EmbeddingRequest r = request;
    r.model = d->spec.model;
    d->in_flight.fetch_add(1, std::memory_order_relaxed);
    // Freed on every way out (a chat waiting on this deployment's max_concurrency may go).
    struct Slot {
      router::DeploymentState* d;
      router::SlotSignal& slots;
      void release() { if (d) std::exchange(d, nullptr)->release_slot(slots); }
      ~Slot() { release(); }
    } slot{d, impl_->slots};
    try {
      EmbeddingResponse out = d->spec.backend->embeddings(r, stop);
      slot.release();
      d->breaker.record_success(admission);
      out.backend = d->spec.name;
      return out;
    } catch (const Error& e) {
      slot.release();
      if (e.code() == ErrorCode::cancelled || stop.stop_requested()) {
        d->breaker.release(admission);
        throw;
      }
      if (is_retryable(e.code())) d->breaker.record_failure(admission, e.retry_after());
      else d->breaker.record_success(admission);
      tried += "; " + d->spec.name + ": " + std::string(to_string(e.code())) + ": " + e.what();
      last = e;
      if (e.code() == ErrorCode::invalid_argument) break;
    }
  }
  if (order.empty()) throw Error(ErrorCode::unsupported, "'" + alias.name + "': no deployment serves embeddings");
  throw RoutingError(last ? last->code() : ErrorCode::unavailable, "'" + alias.name + "': no deployment could serve the embeddings" + tried,
                     last ? last->upstream_status() : std::nullopt, last ? last->upstream_message() : "", {}, {});
}

}  // namespace cnai
