// OpenAI-shaped JSON codecs for the shared types (Chat Completions, chunks,
// Embeddings, Models, error bodies). Parsing untrusted text never crashes:
// malformed JSON or a wrong field type throws Error(upstream) naming the field.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cnai/api/types.hpp"

namespace cnai {

/// Options for encoding a chat request.
struct OpenAiEncodeOptions {
  /// Adds stream_options.include_usage when the request streams.
  bool include_usage_when_streaming = true;
  /// Sends max_tokens as "max_completion_tokens" (o-series models want this).
  bool use_max_completion_tokens = false;
};

/// ChatRequest -> Chat Completions request body. Throws Error(invalid_argument)
/// when a tool's parameters or a response schema is not valid JSON.
std::string to_openai_json(const ChatRequest& request, const OpenAiEncodeOptions& options = {});

/// Chat Completions response body -> ChatResponse.
ChatResponse chat_response_from_openai_json(std::string_view body);

/// One streamed chunk (the JSON after "data: ") -> ChatChunk. A chunk with
/// no choices (the usage-only last chunk) yields empty deltas.
ChatChunk chat_chunk_from_openai_json(std::string_view body);

/// ChatResponse -> Chat Completions response body, plus a "cnai" object with
/// backend, cost_usd and timings (for the CLI and the server).
std::string to_openai_json(const ChatResponse& response);

/// EmbeddingRequest -> Embeddings request body.
std::string to_openai_json(const EmbeddingRequest& request);

/// EmbeddingResponse -> Embeddings response body (float arrays), plus a "cnai"
/// object with the backend (for the CLI and the server).
std::string to_openai_json(const EmbeddingResponse& response);

/// Embeddings response body -> EmbeddingResponse (vectors ordered by index;
/// float arrays and base64-encoded little-endian floats both accepted).
EmbeddingResponse embedding_response_from_openai_json(std::string_view body);

/// GET /models body -> model ids.
std::vector<std::string> model_ids_from_openai_json(std::string_view body);

/// What an upstream error body said. Parsing never throws: when the body is not
/// the expected {"error": {...}} shape, `message` holds its (shortened) text.
struct UpstreamErrorBody {
  std::string message;
  std::string type;
  std::string code;
  std::string param;
};

/// Reads {"error": {"message","type","code","param"}} (OpenAI) and
/// {"type":"error","error":{"type","message"}} (Anthropic).
UpstreamErrorBody upstream_error_from_json(std::string_view body) noexcept;

/// "stop" | "length" | "tool_calls" | "content_filter" | "function_call" -> FinishReason.
FinishReason finish_reason_from_string(std::string_view s) noexcept;

}  // namespace cnai
