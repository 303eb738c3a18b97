// The streamed-chat loop both API adapters share: SSE events through the
// adapter's decoder, chunks to the caller and the assembler, and the
// bookkeeping — first-token time, "content delivered" (nothing is retried
// after it), the callback's cancel, and the end marker that makes the stream
// a success (what the server does after it cannot fail the call).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "clients/api_transport.hpp"
#include "cnai/api/types.hpp"

namespace cnai::clients {

/// What the adapter made of one SSE event.
struct StreamEvent {
  std::optional<ChatChunk> chunk;  // to deliver, if the event carried one
  bool end = false;                // the adapter's end marker ([DONE], message_stop)
};
using StreamEventDecoder = std::function<StreamEvent(const SseEvent&)>;

/// Runs one streamed call on `transport`. Errors: cancelled (the callback
/// returned false), upstream "stream ended before <end_marker>", and the
/// transport's and the decoder's. Sets timings.time_to_first_token_ms (from t0).
ChatResponse run_chat_stream(ApiTransport& transport, const HttpRequest& request, const CallContext& ctx,
                             const StreamEventDecoder& decode, const ChunkCallback& on_chunk,
                             std::string_view end_marker, std::chrono::steady_clock::time_point t0);

}  // namespace cnai::clients
