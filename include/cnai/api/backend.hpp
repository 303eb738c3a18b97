// Backend — the one interface for everything that answers a ChatRequest: the
// local engine, each cloud API client, and the router (a Backend made of
// Backends). No transport types: a host can implement it for its own service.
#pragma once

#include <cstdint>
#include <stop_token>
#include <string>
#include <vector>

#include "cnai/api/types.hpp"
#include "cnai/core/error.hpp"

namespace cnai {

/// What a backend can serve. Routers skip backends that lack what a request
/// needs (tools, JSON output, images, a long enough context).
struct BackendCapabilities {
  std::vector<std::string> models;  // model names it answers to; empty: any name the request gives
  std::int64_t context_window = 0;  // prompt + completion tokens; 0: unknown
  bool streaming = true;
  bool tools = false;
  bool json_output = false;  // response_format json_object / json_schema
  bool images = false;       // image_url content parts
  bool embeddings = false;
  bool local = false;        // computes in this process: nothing leaves the machine
};

enum class HealthStatus { healthy, degraded, unavailable };

/// A backend's own view of its state, cheap to ask (no network call).
struct BackendHealth {
  HealthStatus status = HealthStatus::healthy;
  std::string detail;            // why, when not healthy
  int queue_depth = 0;           // requests waiting (local engines; 0 when unknown)
  int running = 0;               // requests being served
  int capacity = 0;              // requests it serves at once (a local engine's sequences); 0: unknown
  double estimated_wait_ms = 0;  // for a request arriving now
};

std::string_view to_string(HealthStatus s) noexcept;

/// Thread-safe in every implementation: many threads may call one backend.
///
/// The public calls check the request (validate_chat_request) and then call the
/// implementation. `stop` cancels a call from any thread — streaming or not,
/// local or remote — which then throws Error(cancelled) promptly; a stream's
/// callback returning false does the same.
class Backend {
 public:
  virtual ~Backend() = default;

  /// One completion. Errors: invalid_argument (a bad field, named; also
  /// `stream = true`, which asks for chat_stream), and the backend's own.
  ChatResponse chat(const ChatRequest& request, std::stop_token stop = {});

  /// Streams ChatChunks to `on_chunk` (the first carries the role, the last the
  /// finish reason and usage) and returns the assembled response.
  ChatResponse chat_stream(const ChatRequest& request, const ChunkCallback& on_chunk, std::stop_token stop = {});

  /// Errors: unsupported when the backend has no embeddings.
  EmbeddingResponse embeddings(const EmbeddingRequest& request, std::stop_token stop = {});

  /// Its name in responses (ChatResponse::backend) and metrics.
  virtual const std::string& name() const noexcept = 0;
  virtual BackendCapabilities capabilities() const = 0;
  virtual BackendHealth health() const { return {}; }

 protected:
  virtual ChatResponse do_chat(const ChatRequest& request, std::stop_token stop) = 0;
  virtual ChatResponse do_chat_stream(const ChatRequest& request, const ChunkCallback& on_chunk,
                                      std::stop_token stop) = 0;
  virtual EmbeddingResponse do_embeddings(const EmbeddingRequest& request, std::stop_token stop);
};

/// Throws Error(invalid_argument) naming the field when a request is not one any
/// backend should accept: no messages, sampling values
/// outside their ranges (temperature [0, 2], top_p [0, 1], top_k >= 0, min_p
/// [0, 1], frequency/presence penalty [-2, 2], repetition_penalty > 0, logit
/// bias [-100, 100]), max_tokens < 1, an empty stop string.
void validate_chat_request(const ChatRequest& request);

/// Throws Error(invalid_argument): no inputs, an empty input string,
/// dimensions < 1, an encoding format other than "float" or "base64".
void validate_embedding_request(const EmbeddingRequest& request);

}  // namespace cnai
