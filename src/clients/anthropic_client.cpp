// AnthropicClient: request building and the decoding of streamed events;
// HTTP, retries, limits and the stream loop are shared, JSON mapping in
// anthropic_codec.
#include "cnai/clients/anthropic_client.hpp"

#include "clients/anthropic_codec.hpp"
#include "clients/api_transport.hpp"
#include "clients/call_guard.hpp"
#include "clients/chat_stream.hpp"
#include "clients/client_env.hpp"
#include "cnai/clients/pricing.hpp"
#include "cnai/core/error.hpp"

namespace cnai {
namespace {

using Clock = std::chrono::steady_clock;

// The SDK's base URL excludes /v1 and ours includes it: accept both, from the
// environment, a flag or a host's config alike.
std::string messages_url(std::string base) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (!base.ends_with("/v1")) base += "/v1";
  return base + "/messages";
}

}  // namespace

AnthropicOptions AnthropicOptions::from_env() {
  AnthropicOptions o;
  o.common = ClientCommonOptions::from_env();
  o.api_key = clients::env_or("ANTHROPIC_API_KEY");
  o.base_url = clients::env_or("ANTHROPIC_BASE_URL", o.base_url);
  return o;
}

struct AnthropicClient::Impl {
  AnthropicOptions options;
  clients::ApiTransport transport;
  clients::OutcomeTracker outcomes;
  clients::Url url;

  explicit Impl(AnthropicOptions o)
      : options(std::move(o)),
        transport(clients::make_transport_options("anthropic", options.common)),
        url(clients::Url::parse(messages_url(options.base_url))) {
    if (!options.common.prices) options.common.prices = std::make_shared<PriceTable>();  // no prices: cost 0
  }

  clients::HttpRequest make_request(std::string body) const {
    clients::HttpRequest req;
    req.method = "POST";
    req.url = url;
    req.body = std::move(body);
    req.headers = {{"Content-Type", "application/json"}, {"anthropic-version", options.version}};
    if (!options.api_key.empty()) req.headers.emplace_back("x-api-key", options.api_key);
    for (const auto& [k, v] : options.extra_headers) req.headers.emplace_back(k, v);
    return req;  // the HTTP layer adds the User-Agent
  }

  clients::CallContext context_for(const std::string& body, const ChatRequest& r, const clients::StopBridge& stop) const {
    clients::CallContext ctx;
    ctx.cancel = stop.token();
    ctx.estimated_tokens = clients::estimate_request_tokens(body.size(), r.max_tokens.value_or(options.default_max_tokens));
    ctx.deadline = r.deadline;
    return ctx;
  }

  void finish(ChatResponse& r, const ChatRequest& request, Clock::time_point t0) const {
    for (auto& c : r.choices) {
      for (auto& call : c.message.tool_calls) {
        if (call.arguments.empty()) call.arguments = "{}";  // a tool without input streams no JSON
      }
    }
    clients::finish_response(r, options.backend_name, request.model, t0, *options.common.prices);
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
  const auto t0 = Clock::now();
  const clients::StopBridge bridge(std::move(stop));
  ChatRequest plain = request;
  plain.stream = false;
  std::string body = clients::to_anthropic_json(plain, impl_->options.default_max_tokens);
  auto ctx = impl_->context_for(body, request, bridge);
  auto http = impl_->transport.send_json(impl_->make_request(std::move(body)), ctx);
  ChatResponse r = clients::chat_response_from_anthropic_json(http.body);
  impl_->finish(r, request, t0);
  return r;
}

ChatResponse AnthropicClient::stream_once(const ChatRequest& request, const ChunkCallback& on_chunk,
                                          std::stop_token stop) {
  const auto t0 = Clock::now();
  const clients::StopBridge bridge(std::move(stop));
  ChatRequest streamed = request;
  streamed.stream = true;
  std::string body = clients::to_anthropic_json(streamed, impl_->options.default_max_tokens);
  auto ctx = impl_->context_for(body, request, bridge);
  clients::AnthropicStreamDecoder decoder;
  auto decode = [&](const clients::SseEvent& ev) -> clients::StreamEvent {
    auto chunk = decoder.on_event(ev.event, ev.data);
    return {std::move(chunk), decoder.finished()};
  };
  ChatResponse r = clients::run_chat_stream(impl_->transport, impl_->make_request(std::move(body)), ctx, decode,
                                            on_chunk, "message_stop", t0);
  impl_->finish(r, request, t0);
  return r;
}

}  // namespace cnai
