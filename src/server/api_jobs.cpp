// Api routes of the Files and Batch APIs and background-response polling.
#include <fmt/format.h>

#include <charconv>

#include "server/api.hpp"
#include "server/error_reply.hpp"
#include "server/multipart.hpp"

namespace cnai::server {
namespace {

std::size_t limit_param(const HttpRequest& req, std::size_t fallback) {
  auto v = req.query_param("limit");
  if (!v) return fallback;
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size() || n < 1 || n > 100) {
    throw Error(ErrorCode::invalid_argument, "limit: expected an integer from 1 to 100");
  }
  return n;
}

}  // namespace

void Api::add_job_routes() {
  add("POST", "/v1/files", [this](const HttpRequest& req, const Params&, ResponseSink&) {
    const std::string boundary = multipart_boundary(req.header("content-type").value_or(""));
    std::optional<std::string> purpose;
    const FormPart* file = nullptr;
    const auto parts = parse_multipart(req.body, boundary);
    for (const FormPart& p : parts) {
      if (p.name == "purpose") purpose = std::string(p.data);
      if (p.name == "file") file = &p;
    }
    if (!file) throw Error(ErrorCode::invalid_argument, "file: a 'file' part is required");
    if (!purpose) throw Error(ErrorCode::invalid_argument, "purpose: a 'purpose' part is required");
    return json_reply(jobs().create_file(file->filename.value_or("upload"), *purpose, std::string(file->data)));
  });
  add("GET", "/v1/files", [this](const HttpRequest& req, const Params&, ResponseSink&) {
    return json_reply(jobs().list_files(req.query_param("purpose")));
  });
  add("GET", "/v1/files/{}", [this](const HttpRequest&, const Params& p, ResponseSink&) {
    return json_reply(jobs().file(p[0]));
  });
  add("DELETE", "/v1/files/{}", [this](const HttpRequest&, const Params& p, ResponseSink&) {
    return json_reply(jobs().delete_file(p[0]));
  });
  add("GET", "/v1/files/{}/content", [this](const HttpRequest&, const Params& p, ResponseSink&) {
    HttpReply r = json_reply(jobs().file_content(p[0]));
    r.content_type = "application/octet-stream";
    return r;
  });

  add("POST", "/v1/batches", [this](const HttpRequest& req, const Params&, ResponseSink&) {
    return json_reply(jobs().create_batch(req.body));
  });
  add("GET", "/v1/batches", [this](const HttpRequest& req, const Params&, ResponseSink&) {
    return json_reply(jobs().list_batches(limit_param(req, 20), req.query_param("after")));
  });
  add("GET", "/v1/batches/{}", [this](const HttpRequest&, const Params& p, ResponseSink&) {
    return json_reply(jobs().batch(p[0]));
  });
  add("POST", "/v1/batches/{}/cancel", [this](const HttpRequest&, const Params& p, ResponseSink&) {
    return json_reply(jobs().cancel_batch(p[0]));
  });

  add("GET", "/v1/responses/{}", [this](const HttpRequest&, const Params& p, ResponseSink&) {
    return json_reply(jobs().response(p[0]));
  });
  add("POST", "/v1/responses/{}/cancel", [this](const HttpRequest&, const Params& p, ResponseSink&) {
    return json_reply(jobs().cancel_response(p[0]));
  });
}

}  // namespace cnai::server
