// Api routes that call the Backend: Models and Responses (foreground, plain
// or streamed; background ones go to the JobService).
#include <boost/json.hpp>
#include <fmt/format.h>

#include "server/api.hpp"
#include "server/error_reply.hpp"
#include "server/job_format.hpp"
#include "server/responses_codec.hpp"

namespace cnai::server {
namespace {

namespace bj = boost::json;

HeaderList sse_headers() { return {{"cache-control", "no-cache"}, {"x-accel-buffering", "no"}}; }

}  // namespace

std::string Api::default_model() const {
  if (!options_.default_model.empty()) return options_.default_model;
  if (!options_.model_ids.empty()) return options_.model_ids.front();
  const auto models = backend_.capabilities().models;
  return models.empty() ? backend_.name() : models.front();
}

void Api::add_inference_routes() {
  auto model_ids = [this] {
    // Configured ids first (a local model's file name); else what the backend (a router: its aliases) lists.
    std::vector<std::string> ids = options_.model_ids;
    if (ids.empty()) ids = backend_.capabilities().models;
    if (ids.empty()) ids.push_back(backend_.name());
    return ids;
  };
  auto model_object = [](const std::string& id) {
    return bj::object{{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", "cnai"}};
  };
  add("GET", "/v1/models", [=](const HttpRequest&, const Params&, ResponseSink&) {
    bj::array data;
    for (const auto& id : model_ids()) data.push_back(model_object(id));
    return json_reply(bj::serialize(bj::object{{"object", "list"}, {"data", std::move(data)}}));
  });
  add("GET", "/v1/models/{}", [=](const HttpRequest&, const Params& p, ResponseSink&) {
    for (const auto& id : model_ids()) {
      if (id == p[0]) return json_reply(bj::serialize(model_object(id)));
    }
    throw Error(ErrorCode::not_found, fmt::format("The model '{}' does not exist", p[0]));
  });

  add("POST", "/v1/responses", [this](const HttpRequest& req, const Params&, ResponseSink& sink) {
    ResponsesRequest rr = responses_request_from_json(req.body);
    if (rr.background) return json_reply(jobs().create_background_response(req.body));
    mark_internal(req, rr.chat);
    if (rr.chat.model.empty()) rr.chat.model = default_model();
    const std::string id = new_id("resp_");
    const std::int64_t created = unix_now();
    note_usage(req, rr.chat, nullptr);
    if (!rr.chat.stream) {
      ChatResponse r = backend_.chat(rr.chat, sink.stop_token());
      note_usage(req, rr.chat, &r);
      return json_reply(to_responses_json(r, rr, id, created));
    }
    ResponsesStreamWriter writer(rr, id, created);
    sink.start_stream(200, "text/event-stream", sse_headers());
    sink.write(writer.begin());
    try {
      ChatResponse r = backend_.chat_stream(
          rr.chat, [&](const ChatChunk& c) { return sink.write(writer.chunk(c)); }, sink.stop_token());
      note_usage(req, rr.chat, &r);
      sink.write(writer.end(r));
    } catch (const Error& e) {
      sink.write(writer.fail(error_json(e)));
    }
    return HttpReply{};
  });
}

}  // namespace cnai::server
