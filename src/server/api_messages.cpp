// Api route of Anthropic's Messages API (POST /v1/messages), JSON and SSE,
// over the same Backend as the OpenAI routes. Errors are in Anthropic's
// shape; a stream's first event goes with its first chunk, so a request the
// backend refuses at once still gets its HTTP status.
#include "server/anthropic_messages.hpp"
#include "server/api.hpp"
#include "server/error_reply.hpp"
#include "server/job_format.hpp"

namespace cnai::server {

void Api::add_messages_routes() {
  add("POST", "/v1/messages", [this](const HttpRequest& req, const Params&, ResponseSink& sink) {
    const std::string id = new_id("msg_");
    try {
      ChatRequest chat = chat_request_from_anthropic_json(req.body);
      mark_internal(req, chat);
      if (chat.model.empty()) chat.model = default_model();
      note_usage(req, chat, nullptr);
      if (!chat.stream) {
        ChatResponse r = backend_.chat(chat, sink.stop_token());
        note_usage(req, chat, &r);
        HttpReply reply;
        reply.body = anthropic_message_json(r, id);
        return reply;
      }
      AnthropicSseWriter writer(id, chat.model);
      auto start = [&] {
        if (!sink.streaming()) sink.start_stream(200, "text/event-stream", {{"cache-control", "no-cache"}});
      };
      ChatResponse r = backend_.chat_stream(
          chat,
          [&](const ChatChunk& c) {
            start();
            return sink.write(writer.chunk(c));
          },
          sink.stop_token());
      note_usage(req, chat, &r);
      start();
      sink.write(writer.finish(r));
    } catch (const Error& e) {
      if (sink.streaming()) {
        sink.write(AnthropicSseWriter::error(e));
        return HttpReply{};
      }
      HttpReply reply = error_reply(e);
      to_anthropic_error(reply);
      return reply;
    }
    return HttpReply{};
  });
}

}  // namespace cnai::server
