// Anthropic's Messages API shape on the server side, so the Anthropic SDK can
// point at `cnai serve`: a POST /v1/messages body -> ChatRequest (system,
// text/image/tool_use/tool_result blocks, tools, tool_choice, stop
// sequences), a ChatResponse -> a message object, ChatChunks -> the Messages
// SSE events, and errors in Anthropic's error shape. Every bad field is
// Error(invalid_argument) naming it; valid but unserved ones unsupported.
#pragma once

#include <string>
#include <string_view>

#include "cnai/api/types.hpp"
#include "cnai/core/error.hpp"
#include "server/http_types.hpp"

namespace cnai::server {

ChatRequest chat_request_from_anthropic_json(std::string_view body);

/// {"id":"msg_...","type":"message","role":"assistant","content":[...],
///  "stop_reason", "stop_sequence", "usage":{"input_tokens","output_tokens"}}.
std::string anthropic_message_json(const ChatResponse& response, std::string_view id);

/// "end_turn", "max_tokens", "tool_use", "refusal" (stop, length, tool_calls, content_filter).
std::string_view anthropic_stop_reason(FinishReason finish);

/// The event stream of one message: message_start, then per block
/// content_block_start / _delta / _stop, then message_delta and message_stop.
class AnthropicSseWriter {
 public:
  AnthropicSseWriter(std::string id, std::string model);
  /// The events for one chunk (message_start before the first).
  std::string chunk(const ChatChunk& chunk);
  /// Closes the open block; message_delta (stop reason, usage) and message_stop.
  std::string finish(const ChatResponse& response);
  /// An in-stream error event; the stream then ends.
  static std::string error(const Error& error);

 private:
  enum class Block { none, text, tool };
  std::string start_if_needed();
  std::string close_block();
  std::string id_;
  std::string model_;
  bool started_ = false;
  Block block_ = Block::none;
  int index_ = -1;       // of the open block
  int tool_index_ = -1;  // ChatChunk's tool-call index of the open tool_use block
};

/// An OpenAI-shaped error reply (what the server's other layers make)
/// rewritten in Anthropic's shape: {"type":"error","error":{"type","message"}}.
void to_anthropic_error(HttpReply& reply);

}  // namespace cnai::server
