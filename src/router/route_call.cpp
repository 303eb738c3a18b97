#include "router/route_call.hpp"

#include "router/response_cache.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <utility>

namespace cnai::router {
namespace {

using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point t, Clock::time_point now = Clock::now()) {
  return std::chrono::duration<double, std::micro>(now - t).count();
}

// Failures that say the deployment is unhealthy (they count for its breaker);
// the others say the request was wrong for it.
bool health_failure(ErrorCode c) {
  switch (c) {
    case ErrorCode::rate_limited:
    case ErrorCode::timeout:
    case ErrorCode::unavailable:
    case ErrorCode::overloaded:
    case ErrorCode::upstream:
    case ErrorCode::internal:
    case ErrorCode::out_of_memory:
      return true;
    default:
      return false;
  }
}

// Forwards the caller's stop to an attempt's own stop_source.
struct ForwardStop {
  std::stop_source* source;
  void operator()() const noexcept { source->request_stop(); }
};

// Registers an attempt with the watchdog for as long as it runs.
class WatchScope {
 public:
  WatchScope(Watchdog& dog, Watchdog::Watch& w) : dog_(dog), w_(w) { dog_.add(&w_); }
  ~WatchScope() { dog_.remove(&w_); }
  WatchScope(const WatchScope&) = delete;
  WatchScope& operator=(const WatchScope&) = delete;

 private:
  Watchdog& dog_;
  Watchdog::Watch& w_;
};

// Sleeps until `t`, or until `stop` is requested.
void sleep_until(Clock::time_point t, std::stop_token stop) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait_until(lock, stop, t, [] { return false; });
}

}  // namespace

RouteCall::RouteCall(Router::Impl& router, AliasState& alias, const ChatRequest& request, std::stop_token stop,
                     const ChunkCallback* on_chunk)
    : router_(router),
      alias_(alias),
      request_(request),
      stop_(std::move(stop)),
      on_chunk_(on_chunk),
      start_(Clock::now()),
      ctx_{request, request.max_tokens ? *request.max_tokens : router.spec.default_completion_tokens} {
  if (on_chunk_) relay_.emplace(*on_chunk_);
  if (alias_.cache && cacheable(request_)) {
    cache_request_ = normalised_request(request_);
    cache_tag_ = cache_tag(request_, *alias_.cache);
  }
}

void RouteCall::note_skip(const std::string& name, const std::string& why, ErrorCode code) {
  skipped_.push_back(name + ": " + why);
  skip_codes_.push_back(code);
}

ChatResponse RouteCall::run() {
  const auto wait_until = start_ + router_.spec.max_wait;
  ChatResponse out;
  bool first_pass = true;
  for (;;) {
    // Why deployments were passed over this pass; what made a replan (a
    // budget's reroute, a context overflow) stays said.
    skipped_ = carried_skips_;
    skip_codes_ = carried_codes_;
    Clock::time_point earliest{};
    bool replan = false;
    saturated_.clear();
    std::vector<RouteCandidate> plan = plan_route(router_, alias_, ctx_, constraints_);
    // Skipped ones first, so a response lists them even when an earlier one serves.
    for (const RouteCandidate& c : plan) {
      if (c.skipped.empty() || std::find(failed_ids_.begin(), failed_ids_.end(), c.id) != failed_ids_.end()) continue;
      note_skip(c.name, c.skipped, c.skip_code);
      router_.deployments[c.id]->metrics.skipped.fetch_add(1, std::memory_order_relaxed);
      if (c.available_at != Clock::time_point{} && (earliest == Clock::time_point{} || c.available_at < earliest))
        earliest = c.available_at;
    }
    const std::size_t plan_notes = skipped_.size();
    if (std::exchange(first_pass, false) && cache_request_) {
      if (stop_.stop_requested()) fail_cancelled();
      if (answer_from_cache(plan, out)) return out;
    }
    for (const RouteCandidate& c : plan) {
      if (!c.skipped.empty()) continue;
      if (stop_.stop_requested()) fail_cancelled();
      if (request_.deadline && Clock::now() >= *request_.deadline)
        fail(ErrorCode::timeout, "the request's deadline passed");
      if (std::find(failed_ids_.begin(), failed_ids_.end(), c.id) != failed_ids_.end()) continue;
      DeploymentState& d = *router_.deployments[c.id];
      const Outcome o = attempt(d, c, out);
      if (o == Outcome::served) return out;
      if (o == Outcome::stop) fail(*stop_code_, "the request cannot be served");
      if (o == Outcome::replan) {
        replan = true;
        carried_skips_.insert(carried_skips_.end(), skipped_.begin() + static_cast<std::ptrdiff_t>(plan_notes), skipped_.end());
        carried_codes_.insert(carried_codes_.end(), skip_codes_.begin() + static_cast<std::ptrdiff_t>(plan_notes),
                              skip_codes_.end());
        break;
      }
    }
    if (replan) continue;
    // Nothing served in this pass. Wait for the earliest recovery if allowed.
    if (router_.spec.max_wait.count() > 0 && earliest != Clock::time_point{} && earliest <= wait_until &&
        (!request_.deadline || earliest < *request_.deadline) && !(relay_ && relay_->content_delivered() && !continued_)) {
      alias_.metrics.waited_for_recovery.fetch_add(1, std::memory_order_relaxed);
      const auto slept = Clock::now();
      sleep_until(earliest + std::chrono::milliseconds(1), stop_);
      waited_us_ += us_since(slept);
      if (stop_.stop_requested()) fail_cancelled();
      failed_ids_.clear();
      continue;
    }
    // Every deployment that could serve is at its max_concurrency: wait for
    // a slot (freed by any call of this router) as long as max_wait allows,
    // then try again; the ones that failed this request stay passed over.
    if (!saturated_.empty() && router_.spec.max_wait.count() > 0 && Clock::now() < wait_until &&
        !(relay_ && relay_->content_delivered() && !continued_)) {
      auto until = wait_until;
      if (request_.deadline && *request_.deadline < until) until = *request_.deadline;
      alias_.metrics.waited_for_slot.fetch_add(1, std::memory_order_relaxed);
      const auto waited = Clock::now();
      router_.slots.wait(
          [this] {
            return std::any_of(saturated_.begin(), saturated_.end(), [](const DeploymentState* d) {
              return d->in_flight.load(std::memory_order_seq_cst) < d->spec.limits.max_concurrency;
            });
          },
          until, stop_);
      waited_us_ += us_since(waited);
      if (stop_.stop_requested()) fail_cancelled();
      continue;
    }
    // The code says why: the last attempt's, else the most telling skip
    // (a capability, context or budget reason before cooldowns and rules).
    ErrorCode code = last_error_ ? last_error_->code() : ErrorCode::unavailable;
    if (attempts_.empty()) {
      for (ErrorCode c : skip_codes_) {
        if (c == ErrorCode::unavailable) continue;
        code = c;
        break;
      }
    }
    fail(code, "no deployment could serve the request");
  }
}

RouteCall::Outcome RouteCall::attempt(DeploymentState& d, const RouteCandidate& c, ChatResponse& out) {
  const auto admission = d.breaker.admit();
  if (admission == CircuitBreaker::Admission::rejected) {
    note_skip(d.spec.name, "cooling down (half-open: its probe calls are busy)", ErrorCode::unavailable);
    return Outcome::next;
  }
  const int running = d.in_flight.fetch_add(1, std::memory_order_acq_rel) + 1;
  auto free_slot = [&] { d.release_slot(router_.slots); };
  auto unreserve = [&] {
    free_slot();
    d.breaker.release(admission);
  };
  if (d.spec.limits.max_concurrency > 0 && running > d.spec.limits.max_concurrency) {
    unreserve();
    note_skip(d.spec.name, "at its max_concurrency (" + std::to_string(d.spec.limits.max_concurrency) + ")",
              ErrorCode::overloaded);
    saturated_.push_back(&d);
    return Outcome::next;
  }
  if (!d.requests_window.try_add(1, d.spec.limits.requests_per_minute)) {
    unreserve();
    note_skip(d.spec.name, "at its requests_per_minute limit", ErrorCode::rate_limited);
    return Outcome::next;
  }
  BudgetHold hold;
  estimate_ = c.estimated_cost_usd;
  if (!router_.budgets->empty()) {
    if (auto refusal = router_.budgets->reserve(d.spec.name, request_, c.estimated_cost_usd, hold)) {
      unreserve();
      note_skip(d.spec.name, refusal->message, ErrorCode::budget_exceeded);
      switch (refusal->budget->action) {
        case BudgetAction::refuse: stop_code_ = ErrorCode::budget_exceeded; return Outcome::stop;
        case BudgetAction::next: return Outcome::next;
        case BudgetAction::reroute_local:
          if (constraints_.free_only) return Outcome::next;
          constraints_.free_only = true;
          return Outcome::replan;
      }
    }
  }

  const ChatRequest& base = continued_ ? *continued_ : request_;
  ChatRequest request = base;
  request.model = d.spec.model;
  const DeploymentTimeouts& t = d.spec.timeouts;
  const bool watched = t.total.count() > 0 || (on_chunk_ && (t.first_token.count() > 0 || t.inter_chunk.count() > 0));
  const auto started = Clock::now();
  d.metrics.requests.fetch_add(1, std::memory_order_relaxed);
  try {
    if (!watched) {
      if (relay_) relay_->begin_attempt(nullptr, {}, {}, d.spec.continue_streams);
      out = call_backend(d, request, nullptr);
    } else {
      Watchdog::Watch watch;
      const Clock::time_point total = t.total.count() > 0 ? started + t.total : Clock::time_point{};
      Clock::time_point first = total;
      if (on_chunk_ && t.first_token.count() > 0)
        first = total == Clock::time_point{} ? started + t.first_token : std::min(total, started + t.first_token);
      watch.set_deadline(first);
      std::stop_callback<ForwardStop> link(stop_, ForwardStop{&watch.source});
      WatchScope scope(router_.watchdog, watch);
      if (relay_) relay_->begin_attempt(&watch, t.inter_chunk, total, d.spec.continue_streams);
      try {
        out = call_backend(d, request, &watch);
      } catch (const Error& e) {
        if (watch.fired.load(std::memory_order_acquire) && !stop_.stop_requested()) throw timeout_error(d, started);
        throw;
      }
    }
  } catch (const Error& e) {
    free_slot();
    router_.budgets->commit(hold, 0);
    return after_failure(d, e, admission, started, c);
  } catch (...) {
    free_slot();
    router_.budgets->commit(hold, 0);
    d.breaker.release(admission);
    if (relay_ && relay_->caller_error()) std::rethrow_exception(relay_->caller_error());
    throw;  // not a backend failure the router knows how to route around
  }
  free_slot();
  d.breaker.record_success(admission);
  if (relay_) relay_->finish();
  double cost = out.usage.cost_usd;
  if (d.price) cost = (static_cast<double>(out.usage.prompt_tokens) * d.price->input_per_million +
                       static_cast<double>(out.usage.completion_tokens) * d.price->output_per_million) / 1e6;
  router_.budgets->commit(hold, cost);
  finish(out, d, started, cost);
  return Outcome::served;
}

ChatResponse RouteCall::call_backend(DeploymentState& d, const ChatRequest& request, Watchdog::Watch* watch) {
  const std::stop_token token = watch ? watch->source.get_token() : stop_;
  const auto t0 = Clock::now();
  struct AddTime {
    double& total;
    Clock::time_point t0;
    ~AddTime() { total += us_since(t0); }
  } add_time{backend_us_, t0};
  if (!relay_) return d.spec.backend->chat(request, token);
  ChatRequest streamed = request;
  streamed.stream = true;
  StreamRelay& relay = *relay_;
  return d.spec.backend->chat_stream(streamed, [&relay](const ChatChunk& c) { return relay.on_chunk(c); }, token);
}

Error RouteCall::timeout_error(const DeploymentState& d, Clock::time_point started) const {
  const DeploymentTimeouts& t = d.spec.timeouts;
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  std::string what;
  if (relay_ && !relay_->attempt_had_chunk() && t.first_token.count() > 0 && elapsed >= t.first_token)
    what = fmt::format("no first chunk within its first_token timeout ({} ms)", t.first_token.count());
  else if (relay_ && relay_->attempt_had_chunk() && t.inter_chunk.count() > 0 && (t.total.count() == 0 || elapsed < t.total))
    what = fmt::format("no chunk within its inter_chunk timeout ({} ms)", t.inter_chunk.count());
  else
    what = fmt::format("no answer within its total timeout ({} ms)", t.total.count());
  return Error(ErrorCode::timeout, d.spec.name + ": " + what);
}

RouteCall::Outcome RouteCall::after_failure(DeploymentState& d, const Error& e, CircuitBreaker::Admission admission,
                                            Clock::time_point started, const RouteCandidate& c) {
  const auto now = Clock::now();
  if (relay_ && relay_->caller_error()) {
    d.breaker.release(admission);
    std::rethrow_exception(relay_->caller_error());
  }
  if (stop_.stop_requested() || e.code() == ErrorCode::cancelled || (relay_ && relay_->caller_stopped())) {
    d.breaker.release(admission);
    fail_cancelled();
  }
  const ErrorCode code = e.code();
  RouteAttempt a;
  a.deployment = d.spec.name;
  a.error_code = std::string(to_string(code));
  a.error = e.what();
  a.upstream_status = e.upstream_status().value_or(0);
  a.duration_ms = std::chrono::duration<double, std::milli>(now - started).count();
  attempts_.push_back(std::move(a));
  last_error_ = e;
  d.metrics.errors[static_cast<std::size_t>(code)].fetch_add(1, std::memory_order_relaxed);
  d.metrics.duration_error.observe(std::chrono::duration<double>(now - started).count());
  if (code == ErrorCode::unauthorized) {
    d.breaker.trip();  // a wrong key cannot start working by itself
  } else if (health_failure(code)) {
    d.breaker.record_failure(admission, e.retry_after());
  } else {
    d.breaker.record_success(admission);  // it answered: the request was wrong for it
  }
  failed_ids_.push_back(c.id);

  if (relay_ && relay_->content_delivered()) {
    // Content reached the caller: never fail over silently. Only a deployment
    // configured to `continue` hands its partial answer on.
    if (!d.spec.continue_streams || relay_->tool_calls_delivered()) {
      alias_.metrics.streams_failed_after_content.fetch_add(1, std::memory_order_relaxed);
      stop_code_ = code;
      fail(code, fmt::format("{} failed after {} bytes of its answer reached the caller (a stream is never spliced)",
                             d.spec.name, relay_->content_bytes()));
    }
    if (joined_from_.empty()) {
      joined_from_ = d.spec.name;
      joined_at_ = relay_->content_bytes();
      join_reason_ = std::string(to_string(code)) + ": " + e.what();
    }
    ChatRequest next = request_;
    next.messages.push_back(Message::assistant(relay_->text()));
    continued_ = std::move(next);
    relay_->mark_joined();
  }

  FailureAction action = router_.spec.failure_rules[code];
  if (code == ErrorCode::budget_exceeded) action = FailureAction::next;
  if (action == FailureAction::stop) {
    stop_code_ = code;
    return Outcome::stop;
  }
  d.metrics.fallbacks[static_cast<std::size_t>(code)].fetch_add(1, std::memory_order_relaxed);
  if (action == FailureAction::context_fallback) {
    const std::int64_t window = d.caps.context_window > 0 ? d.caps.context_window
                                                           : c.prompt_tokens + ctx_.expected_completion_tokens;
    constraints_.min_context_window = std::max(constraints_.min_context_window, window);
    return Outcome::replan;
  }
  return Outcome::next;
}

bool RouteCall::answer_from_cache(const std::vector<RouteCandidate>& plan, ChatResponse& out) {
  auto first = std::find_if(plan.begin(), plan.end(), [](const RouteCandidate& c) { return c.skipped.empty(); });
  if (first == plan.end()) return false;
  const DeploymentState& d = *router_.deployments[first->id];
  std::optional<ChatResponse> hit;
  try {
    if (auto value = alias_.cache->store->get(cache_key(alias_.name, cache_tag_, d.model_label, *cache_request_)))
      hit = decode_cached(*value);
  } catch (...) {
    // A shared store that cannot answer is a miss, not a failed request.
  }
  if (!hit) {
    alias_.metrics.cache_misses.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (on_chunk_ && !replay_stream(*hit, *on_chunk_)) fail_cancelled();  // the callback's exceptions are the caller's
  const auto now = Clock::now();
  ChatResponse& r = *hit;
  r.usage.cost_usd = 0;  // nothing was spent
  r.backend = d.spec.name;
  r.timings = {};
  r.timings.total_ms = us_since(start_, now) / 1000.0;
  RouteInfo info;
  info.alias = alias_.name;
  info.deployment = d.spec.name;
  info.cache_hit = true;
  info.skipped = std::move(skipped_);
  info.router_overhead_us = us_since(start_, now);  // no backend was called: all of it is the router's
  router_.overhead.observe(info.router_overhead_us / 1e6);
  alias_.metrics.served.fetch_add(1, std::memory_order_relaxed);
  alias_.metrics.cache_hits.fetch_add(1, std::memory_order_relaxed);
  if (router_.spec.observer) {
    RouteRecord rec = served_record(d, r.usage, info, info.router_overhead_us / 1000.0);
    rec.cache_hit = true;
    observe(rec);
  }
  r.route = std::move(info);
  out = std::move(r);
  return true;
}

void RouteCall::store_in_cache(const DeploymentState& d, const ChatResponse& r) {
  // Only whole answers of one deployment: not a stream joined from two.
  if (!cache_request_ || !joined_from_.empty() || r.choices.empty() || r.choices[0].finish_reason == FinishReason::error)
    return;
  try {
    alias_.cache->store->put(cache_key(alias_.name, cache_tag_, d.model_label, *cache_request_), encode_cached(r),
                             alias_.cache->ttl);
  } catch (...) {
    // A cache that cannot store costs only the next hit.
  }
}

void RouteCall::finish(ChatResponse& r, DeploymentState& d, Clock::time_point started, double cost) {
  const auto now = Clock::now();
  const double seconds = std::chrono::duration<double>(now - started).count();
  double ttft_ms = r.timings.time_to_first_token_ms;
  if (relay_ && relay_->attempt_first_chunk())
    ttft_ms = std::chrono::duration<double, std::milli>(*relay_->attempt_first_chunk() - started).count();
  if (ttft_ms <= 0) ttft_ms = seconds * 1000.0;
  d.ttft_ms.add(ttft_ms);
  const double gen_s = seconds - ttft_ms / 1000.0;
  if (r.usage.completion_tokens > 1 && gen_s > 0) d.tokens_per_s.add(static_cast<double>(r.usage.completion_tokens) / gen_s);
  d.tokens_window.add(static_cast<double>(r.usage.prompt_tokens + r.usage.completion_tokens));

  DeploymentMetrics& m = d.metrics;
  m.successes.fetch_add(1, std::memory_order_relaxed);
  m.duration.observe(seconds);
  if (relay_ && relay_->attempt_first_chunk()) m.ttft.observe(ttft_ms / 1000.0);
  m.input_tokens.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, r.usage.prompt_tokens)), std::memory_order_relaxed);
  m.output_tokens.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, r.usage.completion_tokens)), std::memory_order_relaxed);
  m.input_usage.observe(static_cast<double>(r.usage.prompt_tokens));
  m.output_usage.observe(static_cast<double>(r.usage.completion_tokens));
  m.cost_usd.fetch_add(cost, std::memory_order_relaxed);
  alias_.metrics.served.fetch_add(1, std::memory_order_relaxed);

  RouteAttempt a;
  a.deployment = d.spec.name;
  a.duration_ms = seconds * 1000.0;
  attempts_.push_back(std::move(a));
  r.usage.cost_usd = cost;
  r.backend = d.spec.name;
  store_in_cache(d, r);
  RouteInfo info;
  info.alias = alias_.name;
  info.deployment = d.spec.name;
  info.skipped = std::move(skipped_);
  info.estimated_cost_usd = estimate_;
  if (!joined_from_.empty() && !r.choices.empty()) {
    alias_.metrics.streams_joined.fetch_add(1, std::memory_order_relaxed);
    info.joined_from = joined_from_;
    info.joined_at = joined_at_;
    info.join_reason = join_reason_;
    r.choices[0].message.content = continued_->messages.back().content + r.choices[0].message.content;
  }
  const double total_us = us_since(start_, now);
  info.router_overhead_us = std::max(0.0, total_us - backend_us_ - waited_us_);  // waits are not work
  router_.overhead.observe(info.router_overhead_us / 1e6);
  info.attempts = attempts_;
  if (router_.spec.observer) {
    RouteRecord rec = served_record(d, r.usage, info, total_us / 1000.0);
    rec.attempts = attempts_;
    rec.time_to_first_token_ms = ttft_ms;
    rec.cost_usd = cost;
    observe(rec);
  }
  r.route = std::move(info);
}

RouteRecord RouteCall::served_record(const DeploymentState& d, const Usage& usage, const RouteInfo& info,
                                     double duration_ms) const {
  RouteRecord rec;
  rec.alias = alias_.name;
  rec.deployment = d.spec.name;
  rec.stream = relay_.has_value();
  rec.duration_ms = duration_ms;
  rec.prompt_tokens = usage.prompt_tokens;
  rec.completion_tokens = usage.completion_tokens;
  rec.router_overhead_us = info.router_overhead_us;
  return rec;
}

void RouteCall::observe(const RouteRecord& record) {
  try {
    router_.spec.observer(record);
  } catch (...) {
    // The host's telemetry must not fail a request that was served.
  }
}

void RouteCall::fail_cancelled() {
  alias_.metrics.failed[static_cast<std::size_t>(ErrorCode::cancelled)].fetch_add(1, std::memory_order_relaxed);
  throw Error(ErrorCode::cancelled, "request to '" + alias_.name + "' cancelled");
}

void RouteCall::fail(ErrorCode code, const std::string& headline) {
  alias_.metrics.failed[static_cast<std::size_t>(code)].fetch_add(1, std::memory_order_relaxed);
  std::string msg = "'" + alias_.name + "': " + headline;
  for (const RouteAttempt& a : attempts_) {
    msg += "; " + a.deployment + ": " + a.error_code;
    if (a.upstream_status) msg += " (HTTP " + std::to_string(a.upstream_status) + ")";
    msg += ": " + a.error;
  }
  for (const std::string& s : skipped_) msg += "; " + s + " (not tried)";
  if (attempts_.empty() && skipped_.empty()) msg += "; the alias has no deployment";
  std::optional<int> status;
  std::string upstream_message;
  if (last_error_ && last_error_->code() == code) {
    status = last_error_->upstream_status();
    upstream_message = last_error_->upstream_message();
  }
  if (router_.spec.observer) {
    RouteRecord rec;
    rec.alias = alias_.name;
    rec.error_code = std::string(to_string(code));
    rec.stream = relay_.has_value();
    rec.attempts = attempts_;
    rec.duration_ms = us_since(start_) / 1000.0;
    rec.router_overhead_us = std::max(0.0, us_since(start_) - backend_us_ - waited_us_);
    observe(rec);
  }
  throw RoutingError(code, std::move(msg), status, std::move(upstream_message), attempts_, skipped_);
}

}  // namespace cnai::router
