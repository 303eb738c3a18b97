// AnthropicClient: request building and the streamed-event loop; HTTP,
// retries and limits live in ApiTransport, JSON mapping in anthropic_codec.
#include "cnai/clients/anthropic_client.hpp"

#include <cstdlib>

#include "clients/anthropic_codec.hpp"
#include "clients/api_transport.hpp"
#include "clients/call_guard.hpp"
#include "clients/client_env.hpp"
#include "clients/chat_stream_assembler.hpp"
#include "cnai/clients/pricing.hpp"
#include "cnai/core/error.hpp"

namespace cnai {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

void finish_response(ChatResponse& r, const std::string& backend, const std::string& requested_model,
                     Clock::time_point t0, const PriceTable& prices) {
  r.backend = backend;
  r.timings.total_ms = ms_since(t0);
  for (auto& c : r.choices) {
    for (auto& call : c.message.tool_calls) {
      if (call.arguments.empty()) call.arguments = "{}";  // a tool without input streams no JSON
    }
  }
  r.usage.cost_usd = prices.cost_usd(r.model.empty() ? requested_model : r.model, r.usage);
}

}  // namespace

AnthropicOptions AnthropicOptions::from_env() {
  AnthropicOptions o;
  o.common = ClientCommonOptions::from_env();
  o.api_key = clients::env_or("ANTHROPIC_API_KEY");
  std::string base = clients::env_or("ANTHROPIC_BASE_URL");
  if (!base.empty()) {
    while (!base.empty() && base.back() == '/') base.pop_back();
    // The SDK's base URL excludes /v1; ours includes it.
    o.base_url = base.size() >= 3 && base.compare(base.size() - 3, 3, "/v1") == 0 ? base : base + "/v1";
  }
  return o;
}

struct AnthropicClient::Impl {
  AnthropicOptions options;
  clients::ApiTransport transport;
  clients::OutcomeTracker outcomes;

  explicit Impl(AnthropicOptions o)
      : options(std::move(o)), transport(clients::make_transport_options("anthropic", options.common)) {
    if (!options.common.prices) options.common.prices = std::make_shared<PriceTable>();  // no prices: cost 0
  }

  clients::HttpRequest make_request(std::string body) const {
    std::string base = options.base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    clients::HttpRequest req;
    req.method = "POST";
    req.url = clients::Url::parse(base + "/messages");
    req.body = std::move(body);
    req.headers = {{"Content-Type", "application/json"},
                   {"anthropic-version", options.version},
                   {"User-Agent", "cnai/0.1.0"}};
    if (!options.api_key.empty()) req.headers.emplace_back("x-api-key", options.api_key);
    for (const auto& [k, v] : options.extra_headers) req.headers.emplace_back(k, v);
    return req;
  }

  clients::CallContext context_for(const std::string& body, const ChatRequest& r, const clients::StopBridge& stop) const {
    clients::CallContext ctx;
    ctx.cancel = stop.token();
    ctx.estimated_tokens = clients::estimate_request_tokens(body.size(), r.max_tokens.value_or(options.default_max_tokens));
    ctx.deadline = r.deadline;
    return ctx;
  }
};

AnthropicClient::AnthropicClient(AnthropicOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
AnthropicClient::~AnthropicClient() = default;

const AnthropicOptions& AnthropicClient::options() const noexcept { return impl_->options; }
const std::string& AnthropicClient::name() const noexcept { return impl_->options.backend_name; }
BackendCapabilities AnthropicClient::capabilities() const { return impl_->options.capabilities; }
BackendHealth AnthropicClient::health() const { return impl_->outcomes.health(); }

ChatResponse AnthropicClient::do_chat(const ChatRequest& request, std::stop_token stop) {
  return clients::tracked(impl_->outcomes, [&] { return chat_once(request, std::move(stop)); });
}

ChatResponse AnthropicClient::do_chat_stream(const ChatRequest& request, const ChunkCallback& on_chunk,
                                             std::stop_token stop) {
  return clients::tracked(impl_->outcomes, [&] { return stream_once(request, on_chunk, std::move(stop)); });
}

ChatResponse AnthropicClient::chat_once(const ChatRequest& request, std::stop_token stop) {
  auto t0 = Clock::now();
  const clients::StopBridge bridge(std::move(stop));
  ChatRequest plain = request;
  plain.stream = false;
  std::string body = clients::to_anthropic_json(plain, impl_->options.default_max_tokens);
  auto ctx = impl_->context_for(body, request, bridge);
  auto http = impl_->transport.send_json(impl_->make_request(std::move(body)), ctx);
  ChatResponse r = clients::chat_response_from_anthropic_json(http.body);
  finish_response(r, impl_->options.backend_name, request.model, t0, *impl_->options.common.prices);
  return r;
}

ChatResponse AnthropicClient::stream_once(const ChatRequest& request, const ChunkCallback& on_chunk,
                                          std::stop_token stop) {
  auto t0 = Clock::now();
  const clients::StopBridge bridge(std::move(stop));
  ChatRequest streamed = request;
  streamed.stream = true;
  std::string body = clients::to_anthropic_json(streamed, impl_->options.default_max_tokens);
  auto ctx = impl_->context_for(body, request, bridge);
  auto http_request = impl_->make_request(std::move(body));

  clients::AnthropicStreamDecoder decoder;
  clients::ChatStreamAssembler assembler;
  bool delivered = false, cancelled = false;
  double ttft_ms = 0;
  auto on_event = [&](const clients::SseEvent& ev) -> bool {
    // After message_stop, keep reading to the end of the body so the
    // connection goes back to the pool instead of being dropped.
    if (decoder.finished()) return true;
    auto chunk = decoder.on_event(ev.event, ev.data);
    if (decoder.finished()) return true;
    if (!chunk) return true;
    assembler.add(*chunk);
    if (!delivered && (!chunk->delta_content.empty() || !chunk->tool_calls.empty())) ttft_ms = ms_since(t0);
    delivered = true;
    if (on_chunk && !on_chunk(*chunk)) {
      cancelled = true;
      return false;
    }
    return true;
  };
  impl_->transport.stream_sse(http_request, ctx, on_event, [&] { return delivered; });
  if (cancelled) throw Error(ErrorCode::cancelled, "chat stream cancelled by the chunk callback");
  if (!decoder.finished()) throw Error(ErrorCode::upstream, "anthropic: stream ended before message_stop");
  ChatResponse r = assembler.take();
  r.timings.time_to_first_token_ms = ttft_ms;
  finish_response(r, impl_->options.backend_name, request.model, t0, *impl_->options.common.prices);
  return r;
}

}  // namespace cnai
