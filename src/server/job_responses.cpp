// JobService: background Responses — queued on create, run by a worker like
// a batch line, polled by id, cancellable while queued or running.
#include <fmt/format.h>

#include "cnai/core/error.hpp"
#include "cnai/server/job_service.hpp"
#include "server/job_format.hpp"

namespace cnai {

namespace bj = server::bj;

namespace {

bj::value field_or_null(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v ? *v : bj::value(nullptr);
}

}  // namespace

std::string JobService::create_background_response(std::string_view body, int priority) {
  boost::system::error_code ec;
  bj::value v = bj::parse(bj::string_view(body.data(), body.size()), ec);
  if (ec || !v.is_object()) throw Error(ErrorCode::invalid_argument, "body: expected a JSON object");
  bj::object req = std::move(v.as_object());
  if (const bj::value* s = req.if_contains("stream"); s && s->is_bool() && s->as_bool()) {
    throw Error(ErrorCode::invalid_argument, "stream: background responses are polled, not streamed here");
  }
  req.erase("background");
  const std::int64_t t = now();
  JobRecord job;
  job.id = server::new_id("resp_");
  job.kind = "response";
  job.status = "queued";
  job.created_at = t;
  bj::object data{{"id", job.id},
                  {"object", "response"},
                  {"created_at", t},
                  {"status", "queued"},
                  {"background", true},
                  {"model", field_or_null(req, "model")},
                  {"instructions", field_or_null(req, "instructions")},
                  {"metadata", field_or_null(req, "metadata")},
                  {"output", bj::array{}},
                  {"error", nullptr},
                  {"incomplete_details", nullptr},
                  {"parallel_tool_calls", true},
                  {"tool_choice", "auto"},
                  {"tools", bj::array{}},
                  {"usage", nullptr}};
  job.data = bj::serialize(data);
  QueueEntry e;
  e.custom_id = job.id;
  e.body = bj::serialize(req);
  e.priority = priority;
  store_.create_job(job, {e});
  return job.data;
}

std::string JobService::response(std::string_view id) {
  auto job = store_.get_job(id);
  if (!job || job->kind != "response") throw Error(ErrorCode::not_found, fmt::format("No response with id '{}'.", id));
  return job->data;
}

std::string JobService::cancel_response(std::string_view id) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto job = store_.get_job(id);
    if (!job || job->kind != "response") throw Error(ErrorCode::not_found, fmt::format("No response with id '{}'.", id));
    if (job->status == "cancelled") return job->data;
    if (job->status != "queued" && job->status != "in_progress") {
      throw Error(ErrorCode::invalid_argument, fmt::format("Cannot cancel a response with status '{}'.", job->status));
    }
    bj::object data = server::parse_object(job->data);
    data["status"] = "cancelled";
    const std::string text = bj::serialize(data);
    if (store_.update_job(id, job->status, "cancelled", text)) return text;
  }
  throw Error(ErrorCode::unavailable, "the response kept changing while being cancelled; try again");
}

}  // namespace cnai
