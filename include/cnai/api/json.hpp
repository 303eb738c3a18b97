// OpenAI-shaped JSON codecs for the shared types, both ways: requests out and
// responses in (clients), requests in and responses out (servers). Parsing
// untrusted text never crashes: malformed JSON or a wrong field type throws an
// Error naming the field — upstream for what a server sent, invalid_argument
// for what a client sent.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cnai/api/types.hpp"
#include "cnai/core/error.hpp"

namespace cnai {

/// Options for encoding a chat request.
struct OpenAiEncodeOptions {
  /// Adds stream_options.include_usage when the request streams.
  bool include_usage_when_streaming = true;
  /// Sends max_tokens as "max_completion_tokens" (o-series models want this).
  bool use_max_completion_tokens = false;
};

// ---- clients: requests out, responses in ----------------------------------

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

// ---- servers: requests in, responses out -----------------------------------

/// Chat Completions request body (as the OpenAI SDKs send it) -> ChatRequest.
/// Errors: invalid_argument naming the field (malformed JSON, a missing or
/// mistyped field, an unknown role); unsupported for valid OpenAI that cnai
/// does not serve (n > 1, logprobs, audio or file content parts). Fields cnai
/// has no use for are ignored. Ranges are Backend's to check.
ChatRequest chat_request_from_openai_json(std::string_view body);

/// Embeddings request body -> EmbeddingRequest (input: a string or an array of
/// strings; token-id inputs -> unsupported). Errors as above.
EmbeddingRequest embedding_request_from_openai_json(std::string_view body);

/// ChatChunk -> one chat.completion.chunk object (usage included when the
/// chunk has it). See OpenAiSseWriter (openai_sse.hpp) for a whole stream.
std::string to_openai_json(const ChatChunk& chunk, std::int64_t created);

/// EmbeddingResponse -> Embeddings response body; `encoding_format` "float"
/// (shortest round-trip decimals) or "base64" (little-endian float32).
std::string to_openai_json(const EmbeddingResponse& response, std::string_view encoding_format = "float");

/// {"error": {"message", "type", "param", "code"}} for an Error, with OpenAI's
/// error types (invalid_request_error, authentication_error, rate_limit_error,
/// server_error...) and code = the ErrorCode's name (context_overflow as
/// OpenAI's "context_length_exceeded").
std::string openai_error_json(const Error& error);

/// The HTTP status a server answers an ErrorCode with: 400 (invalid_argument,
/// unsupported, context_overflow), 401, 404, 429 (rate_limited,
/// budget_exceeded), 499 (cancelled: the client left), 502 (upstream), 503
/// (unavailable, overloaded, out_of_memory), 504 (timeout), 500 otherwise.
int http_status_for(ErrorCode code) noexcept;

// ---- shared ----------------------------------------------------------------

/// "stop" | "length" | "tool_calls" | "content_filter" | "function_call" -> FinishReason.
FinishReason finish_reason_from_string(std::string_view s) noexcept;

}  // namespace cnai
