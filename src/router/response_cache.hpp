// The router's side of the response cache: which requests may be answered
// from it, their keys (a hash of the normalised request, the deployment's
// model and the API-key tag), the stored text of a response, and a hit
// replayed to a streaming caller.
#pragma once

#include <optional>
#include <string>

#include "cnai/api/types.hpp"
#include "cnai/router/router.hpp"

namespace cnai::router {

/// Deterministic: temperature 0, or a fixed seed.
bool cacheable(const ChatRequest& request) noexcept;

/// The part of the key that says whose entry it is: the API-key tag
/// (metadata `tag_key`) and the user; empty when shared across tags.
std::string cache_tag(const ChatRequest& request, const ResponseCacheOptions& options);

/// What decides the answer, as canonical text: messages, sampling, limits,
/// stops, format, tools (not the alias, streaming, user or routing metadata).
/// nullopt when the request cannot be put in that form.
std::optional<std::string> normalised_request(const ChatRequest& request);

/// "cnai:cache:ALIAS:" + the SHA-256 of tag, model and normalised request.
std::string cache_key(const std::string& alias, const std::string& tag, const std::string& model,
                      const std::string& normalised);

/// A response as stored, and back (nullopt: not a response this router stored).
std::string encode_cached(const ChatResponse& response);
std::optional<ChatResponse> decode_cached(const std::string& value);

/// Replays a cached response as a stream: the role, the content, tool calls,
/// then the finish reason with usage. False when the callback stopped it.
bool replay_stream(const ChatResponse& response, const ChunkCallback& on_chunk);

}  // namespace cnai::router
