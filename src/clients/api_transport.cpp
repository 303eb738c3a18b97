#include "clients/api_transport.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <thread>

#include "clients/deadline_guard.hpp"
#include "clients/upstream_error.hpp"
#include "cnai/core/error.hpp"
#include "core/printable.hpp"

namespace cnai::clients {
namespace {

bool is_success(int status) { return status >= 200 && status < 300; }

RetryHints hints_from(const HttpResponse* response) {
  RetryHints h;
  if (!response) return h;
  h.should_retry = response->header("x-should-retry");
  h.retry_after_ms = response->header("retry-after-ms");
  h.retry_after = response->header("retry-after");
  return h;
}

// The error for a response not retried, carrying the server's Retry-After
// (a router's cooldown) when it gave one (up to an hour).
Error final_error(const std::string& provider, const HttpResponse& response) {
  Error e = error_from_response(provider, response);
  if (auto delay = server_retry_delay(hints_from(&response), std::chrono::system_clock::now(), std::chrono::hours(1)))
    e.set_retry_after(*delay);
  return e;
}

FailureKind kind_of(const Error& e) {
  switch (e.code()) {
    case ErrorCode::timeout: return FailureKind::timeout;
    case ErrorCode::unavailable: return FailureKind::connection;
    default: return FailureKind::other;
  }
}

// The media type of a response, lowercased, parameters dropped
// ("Text/Event-Stream; charset=utf-8" -> "text/event-stream").
std::string media_type(const HttpResponse& r) {
  std::string type = r.header("content-type").value_or("");
  type = type.substr(0, type.find(';'));
  std::erase_if(type, [](char c) { return c == ' ' || c == '\t'; });
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

// application/json, and the +json types and lenient servers' */json.
bool is_json(const HttpResponse& r) { return media_type(r).find("json") != std::string::npos; }
bool is_event_stream(const HttpResponse& r) { return media_type(r) == "text/event-stream"; }

std::string content_type_for_error(const HttpResponse& r) {
  return core::printable(r.header("content-type").value_or("(none)"), 100);
}

constexpr std::size_t kMaxErrorBody = 64 * 1024;

}  // namespace

ApiTransportOptions make_transport_options(std::string provider, const ClientCommonOptions& common) {
  ApiTransportOptions o;
  o.provider = std::move(provider);
  o.retry = RetryConfig(common.retries);
  o.rate_limits = common.rate_limits;
  o.http.timeouts = common.timeouts;
  o.http.ca_file = common.ca_file;
  o.http.verify_peer = common.verify_peer;
  o.http.https_proxy = common.https_proxy;
  o.http.no_proxy = common.no_proxy;
  return o;
}

ApiTransport::ApiTransport(ApiTransportOptions options)
    : options_(std::move(options)),
      http_(options_.http),
      policy_(options_.retry),
      limiter_(options_.rate_limits),
      rng_(std::random_device{}()) {}

void ApiTransport::acquire_capacity(const CallContext& ctx) {
  if (ctx.deadline && std::chrono::steady_clock::now() >= *ctx.deadline) {
    throw Error(ErrorCode::timeout, options_.provider + ": the request deadline has passed");
  }
  limiter_.acquire(
      ctx.estimated_tokens, [&] { return ctx.cancel && ctx.cancel->cancelled(); }, ctx.deadline);
}

RetryDecision ApiTransport::after_failure(int retries_done, FailureKind kind, const HttpResponse* response,
                                          bool delivered) {
  double r;
  {
    std::lock_guard lock(rng_mutex_);
    r = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  }
  return policy_.decide(retries_done, kind, response ? response->status : 0, hints_from(response), delivered,
                        std::chrono::system_clock::now(), r);
}

void ApiTransport::wait_before_retry(std::chrono::milliseconds delay, const CallContext& ctx) {
  auto until = std::chrono::steady_clock::now() + delay;
  if (ctx.deadline && until > *ctx.deadline) {
    throw Error(ErrorCode::timeout, options_.provider + ": the request deadline passes before the next retry");
  }
  // Short slices so cancellation is prompt.
  while (std::chrono::steady_clock::now() < until) {
    if (ctx.cancel && ctx.cancel->cancelled()) throw Error(ErrorCode::cancelled, options_.provider + ": cancelled");
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        until - std::chrono::steady_clock::now(), std::chrono::milliseconds(20)));
  }
}

void ApiTransport::throw_if_expired(const DeadlineGuard& guard) const {
  if (guard.expired()) throw Error(ErrorCode::timeout, options_.provider + ": the request deadline passed during the call");
}

HttpResponse ApiTransport::send_json(const HttpRequest& request, const CallContext& ctx) {
  for (int retries = 0;; ++retries) {
    acquire_capacity(ctx);
    HttpResponse response;
    try {
      DeadlineGuard guard(ctx.deadline, ctx.cancel);
      try {
        response = http_.send(request, guard.token());
      } catch (const Error&) {
        throw_if_expired(guard);
        throw;
      }
    } catch (const Error& e) {
      if (e.code() == ErrorCode::cancelled) throw;
      RetryDecision d = after_failure(retries, kind_of(e), nullptr, false);
      if (!d.retry) throw;
      wait_before_retry(d.delay, ctx);
      continue;
    }
    if (is_success(response.status)) {
      if (!is_json(response)) {
        throw Error(ErrorCode::upstream, options_.provider + ": expected a JSON response, got content type '" +
                                             content_type_for_error(response) + "'");
      }
      return response;
    }
    RetryDecision d = after_failure(retries, FailureKind::http_status, &response, false);
    if (!d.retry) throw final_error(options_.provider, response);
    wait_before_retry(d.delay, ctx);
  }
}

void ApiTransport::stream_sse(const HttpRequest& request, const CallContext& ctx,
                              const std::function<BodyControl(const SseEvent&)>& on_event,
                              const std::function<bool()>& content_delivered) {
  for (int retries = 0;; ++retries) {
    acquire_capacity(ctx);
    HttpResponse head;
    std::string error_body;
    std::exception_ptr failure;  // thrown inside callbacks, rethrown here
    BodyControl control = BodyControl::more;
    SseParser parser;
    auto on_headers = [&](const HttpResponse& h) { head = h; };
    auto on_data = [&](std::string_view bytes) -> BodyControl {
      if (!is_success(head.status)) {
        if (error_body.size() < kMaxErrorBody) error_body.append(bytes.substr(0, kMaxErrorBody - error_body.size()));
        return BodyControl::more;
      }
      if (!is_event_stream(head)) {
        failure = std::make_exception_ptr(Error(
            ErrorCode::upstream, options_.provider + ": expected an SSE stream (text/event-stream), got content type '" +
                                     content_type_for_error(head) + "'"));
        return BodyControl::stop;
      }
      try {
        parser.feed(bytes, [&](const SseEvent& ev) {
          if (control == BodyControl::more) control = on_event(ev);
        });
      } catch (...) {
        if (control != BodyControl::finished) {  // what follows the end marker cannot fail the call
          failure = std::current_exception();
          return BodyControl::stop;
        }
      }
      return control;
    };
    try {
      DeadlineGuard guard(ctx.deadline, ctx.cancel);
      try {
        head = http_.stream(request, on_headers, on_data, guard.token());
      } catch (const Error&) {
        throw_if_expired(guard);
        throw;
      }
    } catch (const Error& e) {
      if (failure) std::rethrow_exception(failure);
      if (e.code() == ErrorCode::cancelled) throw;
      RetryDecision d = after_failure(retries, kind_of(e), nullptr, content_delivered());
      if (!d.retry) throw;
      wait_before_retry(d.delay, ctx);
      continue;
    }
    if (failure) std::rethrow_exception(failure);
    if (is_success(head.status)) {
      if (control == BodyControl::more && !is_event_stream(head)) {
        throw Error(ErrorCode::upstream, options_.provider + ": expected an SSE stream (text/event-stream), got content type '" +
                                             content_type_for_error(head) + "'");
      }
      return;
    }
    if (error_body.empty()) error_body = head.body;
    head.body = std::move(error_body);
    RetryDecision d = after_failure(retries, FailureKind::http_status, &head, false);
    if (!d.retry) throw final_error(options_.provider, head);
    wait_before_retry(d.delay, ctx);
  }
}

}  // namespace cnai::clients
