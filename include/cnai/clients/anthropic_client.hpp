// Client for the Anthropic Messages API (POST /v1/messages), speaking the
// shared ChatRequest/ChatResponse types: system prompt hoisted, tools mapped
// to tool_use/tool_result blocks, SSE events assembled into one response.
#pragma once

#include <map>
#include <memory>
#include <stop_token>
#include <string>

#include "cnai/api/backend.hpp"
#include "cnai/api/types.hpp"
#include "cnai/clients/client_options.hpp"

namespace cnai {

struct AnthropicOptions {
  /// With or without the trailing /v1 (the SDK's ANTHROPIC_BASE_URL has none).
  std::string base_url = "https://api.anthropic.com/v1";
  std::string api_key;
  std::string version = "2023-06-01";  // anthropic-version header
  int default_max_tokens = 1024;       // max_tokens is required by the API
  ClientCommonOptions common;
  std::map<std::string, std::string> extra_headers;  // e.g. anthropic-beta
  std::string backend_name = "anthropic";             // Backend::name()
  BackendCapabilities capabilities = [] {
    BackendCapabilities c;
    c.tools = c.images = true;
    return c;
  }();

  /// ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL, like the official SDK.
  static AnthropicOptions from_env();
};

class AnthropicClient final : public Backend {
 public:
  explicit AnthropicClient(AnthropicOptions options);
  ~AnthropicClient() override;
  AnthropicClient(const AnthropicClient&) = delete;
  AnthropicClient& operator=(const AnthropicClient&) = delete;

  // Backend: chat() and chat_stream() (a stream without message_stop ->
  // Error(upstream)); embeddings() throws unsupported.
  const std::string& name() const noexcept override;
  BackendCapabilities capabilities() const override;
  BackendHealth health() const override;

  const AnthropicOptions& options() const noexcept;

 protected:
  ChatResponse do_chat(const ChatRequest& request, std::stop_token stop) override;
  ChatResponse do_chat_stream(const ChatRequest& request, const ChunkCallback& on_chunk,
                              std::stop_token stop) override;

 private:
  ChatResponse chat_once(const ChatRequest& request, std::stop_token stop);
  ChatResponse stream_once(const ChatRequest& request, const ChunkCallback& on_chunk, std::stop_token stop);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cnai
