// Client for the OpenAI API and OpenAI-compatible servers (vLLM, NIM,
// Ollama, Azure OpenAI): Chat Completions (plain and streamed), Responses,
// Embeddings, Models. A Backend; retries, rate limits and cost per the options.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "cnai/api/backend.hpp"
#include "cnai/api/types.hpp"
#include "cnai/clients/client_options.hpp"

namespace cnai {

/// Azure OpenAI: requests go to {base_url}/openai/deployments/{deployment}/...
/// ?api-version=...; auth by `api-key` header, or bearer when use_bearer_token.
struct AzureOptions {
  std::string deployment;
  std::string api_version = "2024-10-21";
  bool use_bearer_token = false;  // api_key holds an Entra ID token
};

struct OpenAiOptions {
  std::string base_url = "https://api.openai.com/v1";  // Azure: the resource endpoint
  std::string api_key;
  std::string organization;  // OpenAI-Organization header when set
  std::string project;       // OpenAI-Project header when set
  std::optional<AzureOptions> azure;
  ClientCommonOptions common;
  std::map<std::string, std::string> extra_headers;
  bool use_max_completion_tokens = false;  // o-series models
  std::string backend_name;                // Backend::name(); default "openai"/"azure"
  /// What the upstream serves (routers read it); context_window 0 = unknown.
  BackendCapabilities capabilities = [] {
    BackendCapabilities c;
    c.tools = c.json_output = c.images = c.embeddings = true;
    return c;
  }();

  /// Like the official SDK: OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_ORG_ID, OPENAI_PROJECT_ID.
  static OpenAiOptions from_env();
  /// Azure from AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY (else
  /// AZURE_OPENAI_AD_TOKEN as bearer), OPENAI_API_VERSION and `deployment`.
  static OpenAiOptions azure_from_env(const std::string& deployment);
};

class OpenAiClient final : public Backend {
 public:
  explicit OpenAiClient(OpenAiOptions options);
  ~OpenAiClient() override;
  OpenAiClient(const OpenAiClient&) = delete;
  OpenAiClient& operator=(const OpenAiClient&) = delete;

  // Backend: chat() is POST /chat/completions; chat_stream() streams its SSE
  // chunks (errors: in-band error events, a stream without [DONE], malformed
  // chunks -> Error(upstream)); embeddings() is POST /embeddings.
  // Usage.cost_usd is filled from the price table.
  const std::string& name() const noexcept override;
  BackendCapabilities capabilities() const override;
  BackendHealth health() const override;

  /// POST /responses (text and function tool calls), mapped to ChatResponse.
  ChatResponse respond(const ChatRequest& request, std::stop_token stop = {});

  /// GET /models -> ids.
  std::vector<std::string> list_models(std::stop_token stop = {});

  const OpenAiOptions& options() const noexcept;

 protected:
  ChatResponse do_chat(const ChatRequest& request, std::stop_token stop) override;
  ChatResponse do_chat_stream(const ChatRequest& request, const ChunkCallback& on_chunk,
                              std::stop_token stop) override;
  EmbeddingResponse do_embeddings(const EmbeddingRequest& request, std::stop_token stop) override;

 private:
  ChatResponse chat_once(const ChatRequest& request, std::stop_token stop);
  ChatResponse stream_once(const ChatRequest& request, const ChunkCallback& on_chunk, std::stop_token stop);
  EmbeddingResponse embeddings_once(const EmbeddingRequest& request, std::stop_token stop);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cnai
