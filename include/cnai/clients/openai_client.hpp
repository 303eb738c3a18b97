// Client for the OpenAI API and OpenAI-compatible servers (vLLM, NIM,
// Ollama, Azure OpenAI): Chat Completions (plain and streamed), Responses,
// Embeddings, Models. Retries, rate limits and cost per the shared options.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
  std::string backend_name;                // ChatResponse::backend; default "openai"/"azure"

  /// Like the official SDK: OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_ORG_ID, OPENAI_PROJECT_ID.
  static OpenAiOptions from_env();
  /// Azure from AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY (else
  /// AZURE_OPENAI_AD_TOKEN as bearer), OPENAI_API_VERSION and `deployment`.
  static OpenAiOptions azure_from_env(const std::string& deployment);
};

class OpenAiClient {
 public:
  explicit OpenAiClient(OpenAiOptions options);
  ~OpenAiClient();
  OpenAiClient(const OpenAiClient&) = delete;
  OpenAiClient& operator=(const OpenAiClient&) = delete;

  /// POST /chat/completions. Usage.cost_usd is filled from the price table.
  ChatResponse chat(const ChatRequest& request);

  /// Streams chunks to `on_chunk` (return false to stop: throws Error(cancelled))
  /// and returns the assembled response. Errors: in-band error events, a
  /// stream without [DONE], malformed chunks -> Error(upstream).
  ChatResponse chat_stream(const ChatRequest& request, const ChunkCallback& on_chunk);

  /// POST /responses (text and function tool calls), mapped to ChatResponse.
  ChatResponse respond(const ChatRequest& request);

  EmbeddingResponse embeddings(const EmbeddingRequest& request);

  /// GET /models -> ids.
  std::vector<std::string> list_models();

  const OpenAiOptions& options() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cnai
