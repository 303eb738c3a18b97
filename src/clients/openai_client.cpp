// OpenAiClient: request building, endpoint URLs (OpenAI and Azure) and the
// decoding of streamed events; HTTP, retries, limits and the stream loop are shared.
#include "cnai/clients/openai_client.hpp"

#include <utility>

#include "clients/api_transport.hpp"
#include "clients/call_guard.hpp"
#include "clients/client_env.hpp"
#include "clients/chat_stream.hpp"
#include "clients/responses_codec.hpp"
#include "clients/upstream_error.hpp"
#include "cnai/api/json.hpp"
#include "cnai/clients/pricing.hpp"
#include "cnai/core/error.hpp"

namespace cnai {
namespace {

using Clock = std::chrono::steady_clock;

std::string strip_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

OpenAiOptions OpenAiOptions::from_env() {
  OpenAiOptions o;
  o.common = ClientCommonOptions::from_env();
  o.api_key = clients::env_or("OPENAI_API_KEY");
  o.base_url = clients::env_or("OPENAI_BASE_URL", o.base_url);
  o.organization = clients::env_or("OPENAI_ORG_ID");
  o.project = clients::env_or("OPENAI_PROJECT_ID");
  return o;
}

OpenAiOptions OpenAiOptions::azure_from_env(const std::string& deployment) {
  OpenAiOptions o;
  o.common = ClientCommonOptions::from_env();
  o.base_url = clients::env_or("AZURE_OPENAI_ENDPOINT");
  AzureOptions azure;
  azure.deployment = deployment;
  azure.api_version = clients::env_or("OPENAI_API_VERSION", azure.api_version);
  o.api_key = clients::env_or("AZURE_OPENAI_API_KEY");
  if (o.api_key.empty()) {
    o.api_key = clients::env_or("AZURE_OPENAI_AD_TOKEN");
    azure.use_bearer_token = !o.api_key.empty();
  }
  o.azure = azure;
  return o;
}

struct OpenAiClient::Impl {
  OpenAiOptions options;
  clients::ApiTransport transport;
  clients::OutcomeTracker outcomes;

  explicit Impl(OpenAiOptions o)
      : options(std::move(o)),
        transport(clients::make_transport_options(options.azure ? "azure" : "openai", options.common)) {
    if (options.backend_name.empty()) options.backend_name = options.azure ? "azure" : "openai";
    if (!options.common.prices) options.common.prices = std::make_shared<PriceTable>();  // no prices: cost 0
    if (options.base_url.empty()) throw Error(ErrorCode::invalid_argument, "OpenAiOptions: base_url is empty");
  }

  /// `path` is "chat/completions", "embeddings", "models" or "responses".
  std::string url_for(const std::string& path) const {
    std::string base = strip_slash(options.base_url);
    if (!options.azure) return base + "/" + path;
    const AzureOptions& az = *options.azure;
    std::string version = "?api-version=" + az.api_version;
    if (path == "models" || path == "responses") return base + "/openai/" + path + version;
    if (az.deployment.empty()) throw Error(ErrorCode::invalid_argument, "Azure OpenAI: deployment name is empty");
    return base + "/openai/deployments/" + az.deployment + "/" + path + version;
  }

  clients::HttpRequest make_request(const std::string& method, const std::string& path, std::string body) const {
    clients::HttpRequest req;
    req.method = method;
    req.url = clients::Url::parse(url_for(path));
    req.body = std::move(body);
    auto& h = req.headers;
    if (!req.body.empty()) h.emplace_back("Content-Type", "application/json");
    if (!options.api_key.empty()) {
      if (options.azure && !options.azure->use_bearer_token) h.emplace_back("api-key", options.api_key);
      else h.emplace_back("Authorization", "Bearer " + options.api_key);
    }
    if (!options.organization.empty()) h.emplace_back("OpenAI-Organization", options.organization);
    if (!options.project.empty()) h.emplace_back("OpenAI-Project", options.project);
    for (const auto& [k, v] : options.extra_headers) h.emplace_back(k, v);
    return req;  // the HTTP layer adds the User-Agent
  }

  clients::CallContext context_for(const std::string& body, std::optional<int> max_tokens,
                                   std::optional<Clock::time_point> deadline, const clients::StopBridge& stop) const {
    clients::CallContext ctx;
    ctx.cancel = stop.token();
    ctx.estimated_tokens = clients::estimate_request_tokens(body.size(), max_tokens);
    ctx.deadline = deadline;
    return ctx;
  }

  OpenAiEncodeOptions encode_options() const {
    OpenAiEncodeOptions e;
    e.use_max_completion_tokens = options.use_max_completion_tokens;
    return e;
  }

  void finish(ChatResponse& r, const ChatRequest& request, Clock::time_point t0) const {
    clients::finish_response(r, options.backend_name, request.model, t0, *options.common.prices);
  }
};

OpenAiClient::OpenAiClient(OpenAiOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
OpenAiClient::~OpenAiClient() = default;

const OpenAiOptions& OpenAiClient::options() const noexcept { return impl_->options; }
const std::string& OpenAiClient::name() const noexcept { return impl_->options.backend_name; }
BackendCapabilities OpenAiClient::capabilities() const { return impl_->options.capabilities; }
BackendHealth OpenAiClient::health() const { return impl_->outcomes.health(); }

ChatResponse OpenAiClient::do_chat(const ChatRequest& request, std::stop_token stop) {
  return clients::tracked(impl_->outcomes, [&] { return chat_once(request, std::move(stop)); });
}

ChatResponse OpenAiClient::do_chat_stream(const ChatRequest& request, const ChunkCallback& on_chunk,
                                          std::stop_token stop) {
  return clients::tracked(impl_->outcomes, [&] { return stream_once(request, on_chunk, std::move(stop)); });
}

EmbeddingResponse OpenAiClient::do_embeddings(const EmbeddingRequest& request, std::stop_token stop) {
  return clients::tracked(impl_->outcomes, [&] { return embeddings_once(request, std::move(stop)); });
}

ChatResponse OpenAiClient::chat_once(const ChatRequest& request, std::stop_token stop) {
  const auto t0 = Clock::now();
  const clients::StopBridge bridge(std::move(stop));
  ChatRequest plain = request;
  plain.stream = false;
  std::string body = to_openai_json(plain, impl_->encode_options());
  auto ctx = impl_->context_for(body, request.max_tokens, request.deadline, bridge);
  auto http = impl_->transport.send_json(impl_->make_request("POST", "chat/completions", std::move(body)), ctx);
  ChatResponse r = chat_response_from_openai_json(http.body);
  impl_->finish(r, request, t0);
  return r;
}

ChatResponse OpenAiClient::stream_once(const ChatRequest& request, const ChunkCallback& on_chunk,
                                       std::stop_token stop) {
  const auto t0 = Clock::now();
  const clients::StopBridge bridge(std::move(stop));
  ChatRequest streamed = request;
  streamed.stream = true;
  std::string body = to_openai_json(streamed, impl_->encode_options());
  auto ctx = impl_->context_for(body, request.max_tokens, request.deadline, bridge);
  const std::string& provider = impl_->transport.options().provider;
  auto decode = [&](const clients::SseEvent& ev) -> clients::StreamEvent {
    if (ev.data == "[DONE]") return {std::nullopt, true};
    if (ev.data.empty()) return {};
    if (auto err = clients::in_band_error(provider, ev.data)) throw *err;
    return {chat_chunk_from_openai_json(ev.data), false};
  };
  ChatResponse r = clients::run_chat_stream(impl_->transport, impl_->make_request("POST", "chat/completions", std::move(body)),
                                            ctx, decode, on_chunk, "[DONE]", t0);
  impl_->finish(r, request, t0);
  return r;
}

ChatResponse OpenAiClient::respond(const ChatRequest& request, std::stop_token stop) {
  validate_chat_request(request);
  const auto t0 = Clock::now();
  const clients::StopBridge bridge(std::move(stop));
  std::string body = clients::to_responses_json(request);
  auto ctx = impl_->context_for(body, request.max_tokens, request.deadline, bridge);
  auto http = impl_->transport.send_json(impl_->make_request("POST", "responses", std::move(body)), ctx);
  ChatResponse r = clients::chat_response_from_responses_json(http.body);
  impl_->finish(r, request, t0);
  return r;
}

EmbeddingResponse OpenAiClient::embeddings_once(const EmbeddingRequest& request, std::stop_token stop) {
  const clients::StopBridge bridge(std::move(stop));
  std::string body = to_openai_json(request);
  auto ctx = impl_->context_for(body, std::nullopt, std::nullopt, bridge);
  auto http = impl_->transport.send_json(impl_->make_request("POST", "embeddings", std::move(body)), ctx);
  EmbeddingResponse r = embedding_response_from_openai_json(http.body);
  if (r.data.size() != request.input.size()) {
    throw Error(ErrorCode::upstream, "embeddings: " + std::to_string(request.input.size()) + " inputs but " +
                                         std::to_string(r.data.size()) + " vectors returned");
  }
  r.backend = impl_->options.backend_name;
  r.usage.cost_usd = impl_->options.common.prices->cost_usd(r.model.empty() ? request.model : r.model, r.usage);
  return r;
}

std::vector<std::string> OpenAiClient::list_models(std::stop_token stop) {
  const clients::StopBridge bridge(std::move(stop));
  clients::CallContext ctx;
  ctx.cancel = bridge.token();
  auto http = impl_->transport.send_json(impl_->make_request("GET", "models", {}), ctx);
  return model_ids_from_openai_json(http.body);
}

}  // namespace cnai
