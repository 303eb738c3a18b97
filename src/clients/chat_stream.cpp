#include "clients/chat_stream.hpp"

#include "clients/chat_stream_assembler.hpp"
#include "cnai/core/error.hpp"

namespace cnai::clients {

ChatResponse run_chat_stream(ApiTransport& transport, const HttpRequest& request, const CallContext& ctx,
                             const StreamEventDecoder& decode, const ChunkCallback& on_chunk,
                             std::string_view end_marker, std::chrono::steady_clock::time_point t0) {
  using Clock = std::chrono::steady_clock;
  ChatStreamAssembler assembler;
  bool ended = false, delivered = false, cancelled = false;
  double ttft_ms = 0;
  auto on_event = [&](const SseEvent& ev) -> BodyControl {
    StreamEvent e = decode(ev);
    if (e.chunk) {
      assembler.add(*e.chunk);
      if (!delivered && (!e.chunk->delta_content.empty() || !e.chunk->tool_calls.empty())) {
        ttft_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      }
      delivered = true;
      if (on_chunk && !on_chunk(*e.chunk)) {
        cancelled = true;
        return BodyControl::stop;
      }
    }
    if (e.end) {
      ended = true;
      return BodyControl::finished;
    }
    return BodyControl::more;
  };
  transport.stream_sse(request, ctx, on_event, [&] { return delivered; });
  if (cancelled) throw Error(ErrorCode::cancelled, "chat stream cancelled by the chunk callback");
  if (!ended) {
    throw Error(ErrorCode::upstream,
                transport.options().provider + ": stream ended before " + std::string(end_marker));
  }
  ChatResponse r = assembler.take();
  r.timings.time_to_first_token_ms = ttft_ms;
  return r;
}

}  // namespace cnai::clients
