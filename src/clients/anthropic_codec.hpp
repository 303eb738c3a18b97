// Anthropic Messages API <-> shared types: system prompt hoisting, content
// blocks, tool_use / tool_result, usage; and the streaming event decoder
// (message_start ... message_stop) that turns events into ChatChunks.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "cnai/api/types.hpp"

namespace cnai::clients {

inline constexpr int kAnthropicDefaultMaxTokens = 1024;

std::string to_anthropic_json(const ChatRequest& request, int default_max_tokens = kAnthropicDefaultMaxTokens);
ChatResponse chat_response_from_anthropic_json(std::string_view body);
FinishReason finish_reason_from_anthropic(std::string_view stop_reason) noexcept;

/// Consumes one SSE event at a time. Throws Error(upstream) on error events
/// and malformed data; `finished()` turns true at message_stop.
class AnthropicStreamDecoder {
 public:
  /// Returns a chunk to deliver, or nullopt for events that carry none (ping...).
  std::optional<ChatChunk> on_event(std::string_view event, std::string_view data);
  bool finished() const noexcept { return finished_; }

 private:
  std::string id_, model_;
  Usage usage_;
  std::map<std::int64_t, int> tool_index_of_block_;  // content block index -> tool ordinal
  int next_tool_ = 0;
  bool finished_ = false;
};

}  // namespace cnai::clients
