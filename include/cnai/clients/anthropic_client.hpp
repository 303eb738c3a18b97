// Client for the Anthropic Messages API (POST /v1/messages), speaking the
// shared ChatRequest/ChatResponse types: system prompt hoisted, tools mapped
// to tool_use/tool_result blocks, SSE events assembled into one response.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "cnai/api/types.hpp"
#include "cnai/clients/client_options.hpp"

namespace cnai {

struct AnthropicOptions {
  std::string base_url = "https://api.anthropic.com/v1";
  std::string api_key;
  std::string version = "2023-06-01";  // anthropic-version header
  int default_max_tokens = 1024;       // max_tokens is required by the API
  ClientCommonOptions common;
  std::map<std::string, std::string> extra_headers;  // e.g. anthropic-beta

  /// ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL, like the official SDK.
  static AnthropicOptions from_env();
};

class AnthropicClient {
 public:
  explicit AnthropicClient(AnthropicOptions options);
  ~AnthropicClient();
  AnthropicClient(const AnthropicClient&) = delete;
  AnthropicClient& operator=(const AnthropicClient&) = delete;

  ChatResponse chat(const ChatRequest& request);

  /// Streams chunks (return false to stop: throws Error(cancelled)); returns
  /// the assembled response. A stream without message_stop -> Error(upstream).
  ChatResponse chat_stream(const ChatRequest& request, const ChunkCallback& on_chunk);

  const AnthropicOptions& options() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cnai
