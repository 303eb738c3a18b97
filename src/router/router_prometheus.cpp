// Router::metrics_text: the Prometheus text exposition of the router's
// counters. OpenTelemetry GenAI instruments keep their names (dots become
// underscores, the unit a suffix); the router's own are cnai_router_*.
#include <fmt/format.h>

#include "router/router_state.hpp"

namespace cnai {
namespace {

using router::label_value;

std::string deployment_labels(const router::DeploymentState& d) {
  return fmt::format("gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"{}\",gen_ai_request_model=\"{}\",cnai_deployment=\"{}\"",
                     label_value(d.provider), label_value(d.model_label), label_value(d.spec.name));
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

int breaker_value(BreakerState s) {
  switch (s) {
    case BreakerState::closed: return 0;
    case BreakerState::half_open: return 1;
    case BreakerState::open: return 2;
  }
  return 0;
}

}  // namespace

std::string Router::metrics_text() const {
  const Impl& r = *impl_;
  std::string out;
  out.reserve(16384);
  header(out, "gen_ai_client_token_usage", "histogram", "Tokens used per call, by gen_ai_token_type (input, output).");
  for (const auto& d : r.deployments) {
    const std::string l = deployment_labels(*d);
    d->metrics.input_usage.render(out, "gen_ai_client_token_usage", l + ",gen_ai_token_type=\"input\"");
    d->metrics.output_usage.render(out, "gen_ai_client_token_usage", l + ",gen_ai_token_type=\"output\"");
  }
  header(out, "gen_ai_client_operation_duration_seconds", "histogram", "Duration of calls to each deployment; failed ones carry error_type.");
  for (const auto& d : r.deployments) {
    const std::string l = deployment_labels(*d);
    d->metrics.duration.render(out, "gen_ai_client_operation_duration_seconds", l);
    if (d->metrics.duration_error.count() > 0)
      d->metrics.duration_error.render(out, "gen_ai_client_operation_duration_seconds", l + ",error_type=\"error\"");
  }
  header(out, "gen_ai_server_time_to_first_token_seconds", "histogram", "Time to the first streamed chunk.");
  for (const auto& d : r.deployments) d->metrics.ttft.render(out, "gen_ai_server_time_to_first_token_seconds", deployment_labels(*d));

  header(out, "cnai_router_requests_total", "counter", "Attempts made on each deployment.");
  for (const auto& d : r.deployments)
    out += fmt::format("cnai_router_requests_total{{cnai_deployment=\"{}\"}} {}\n", label_value(d->spec.name), d->metrics.requests.load());
  header(out, "cnai_router_errors_total", "counter", "Failed attempts by error class.");
  for (const auto& d : r.deployments)
    for (std::size_t c = 0; c < router::kErrorCodes; ++c)
      if (auto n = d->metrics.errors[c].load())
        out += fmt::format("cnai_router_errors_total{{cnai_deployment=\"{}\",error_type=\"{}\"}} {}\n", label_value(d->spec.name),
                           to_string(static_cast<ErrorCode>(c)), n);
  header(out, "cnai_router_fallbacks_total", "counter", "Requests moved on from a deployment to the next, by cause.");
  for (const auto& d : r.deployments)
    for (std::size_t c = 0; c < router::kErrorCodes; ++c)
      if (auto n = d->metrics.fallbacks[c].load())
        out += fmt::format("cnai_router_fallbacks_total{{cnai_deployment=\"{}\",cause=\"{}\"}} {}\n", label_value(d->spec.name),
                           to_string(static_cast<ErrorCode>(c)), n);
  header(out, "cnai_router_skipped_total", "counter", "Times a deployment was passed over (cooldown, limits, filters).");
  for (const auto& d : r.deployments)
    out += fmt::format("cnai_router_skipped_total{{cnai_deployment=\"{}\"}} {}\n", label_value(d->spec.name), d->metrics.skipped.load());
  header(out, "cnai_router_breaker_state", "gauge", "Circuit breaker: 0 closed, 1 half-open, 2 open.");
  for (const auto& d : r.deployments)
    out += fmt::format("cnai_router_breaker_state{{cnai_deployment=\"{}\"}} {}\n", label_value(d->spec.name), breaker_value(d->breaker.state()));
  header(out, "cnai_router_in_flight", "gauge", "Calls the router has running on each deployment.");
  for (const auto& d : r.deployments)
    out += fmt::format("cnai_router_in_flight{{cnai_deployment=\"{}\"}} {}\n", label_value(d->spec.name), d->in_flight.load());
  header(out, "cnai_router_queue_depth", "gauge", "Requests waiting in each deployment's backend (its own report).");
  for (const auto& d : r.deployments)
    out += fmt::format("cnai_router_queue_depth{{cnai_deployment=\"{}\"}} {}\n", label_value(d->spec.name), d->spec.backend->health().queue_depth);
  header(out, "cnai_router_tokens_total", "counter", "Tokens in and out of each deployment.");
  for (const auto& d : r.deployments) {
    out += fmt::format("cnai_router_tokens_total{{cnai_deployment=\"{}\",gen_ai_token_type=\"input\"}} {}\n", label_value(d->spec.name), d->metrics.input_tokens.load());
    out += fmt::format("cnai_router_tokens_total{{cnai_deployment=\"{}\",gen_ai_token_type=\"output\"}} {}\n", label_value(d->spec.name), d->metrics.output_tokens.load());
  }
  header(out, "cnai_router_cost_usd_total", "counter", "Cost booked on each deployment, USD.");
  for (const auto& d : r.deployments)
    out += fmt::format("cnai_router_cost_usd_total{{cnai_deployment=\"{}\"}} {}\n", label_value(d->spec.name), d->metrics.cost_usd.load());

  header(out, "cnai_router_alias_requests_total", "counter", "Requests to each alias by outcome (served, or the error class).");
  auto alias_lines = [&](const router::AliasState& a) {
    out += fmt::format("cnai_router_alias_requests_total{{alias=\"{}\",outcome=\"served\"}} {}\n", label_value(a.name), a.metrics.served.load());
    for (std::size_t c = 0; c < router::kErrorCodes; ++c)
      if (auto n = a.metrics.failed[c].load())
        out += fmt::format("cnai_router_alias_requests_total{{alias=\"{}\",outcome=\"{}\"}} {}\n", label_value(a.name),
                           to_string(static_cast<ErrorCode>(c)), n);
  };
  for (const auto& a : r.aliases) alias_lines(*a);
  for (const auto& [name, a] : r.direct) alias_lines(*a);
  header(out, "cnai_router_cache_hits_total", "counter", "Responses answered from the alias's response cache.");
  for (const auto& a : r.aliases)
    out += fmt::format("cnai_router_cache_hits_total{{alias=\"{}\"}} {}\n", label_value(a->name), a->metrics.cache_hits.load());
  header(out, "cnai_router_cache_misses_total", "counter", "Cacheable requests not found in the response cache.");
  for (const auto& a : r.aliases)
    out += fmt::format("cnai_router_cache_misses_total{{alias=\"{}\"}} {}\n", label_value(a->name), a->metrics.cache_misses.load());
  header(out, "cnai_router_stream_joins_total", "counter", "Streams continued by another deployment after a mid-stream failure.");
  for (const auto& a : r.aliases)
    out += fmt::format("cnai_router_stream_joins_total{{alias=\"{}\"}} {}\n", label_value(a->name), a->metrics.streams_joined.load());
  header(out, "cnai_router_stream_failures_after_content_total", "counter", "Streams ended with an error after content reached the caller.");
  for (const auto& a : r.aliases)
    out += fmt::format("cnai_router_stream_failures_after_content_total{{alias=\"{}\"}} {}\n", label_value(a->name),
                       a->metrics.streams_failed_after_content.load());
  header(out, "cnai_router_recovery_waits_total", "counter", "Requests that waited (max_wait) for a deployment to recover.");
  for (const auto& a : r.aliases)
    out += fmt::format("cnai_router_recovery_waits_total{{alias=\"{}\"}} {}\n", label_value(a->name), a->metrics.waited_for_recovery.load());
  header(out, "cnai_router_slot_waits_total", "counter", "Waits (max_wait) for a call slot: every deployment at its max_concurrency.");
  for (const auto& a : r.aliases)
    out += fmt::format("cnai_router_slot_waits_total{{alias=\"{}\"}} {}\n", label_value(a->name), a->metrics.waited_for_slot.load());
  header(out, "cnai_router_overhead_seconds", "histogram", "The router's own time per served request (backends' time excluded).");
  r.overhead.render(out, "cnai_router_overhead_seconds", "");
  return out;
}

}  // namespace cnai
