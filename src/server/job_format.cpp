// JSON shapes of the Files and Batch APIs.
#include "server/job_format.hpp"

#include <fmt/format.h>

#include <charconv>
#include <random>

#include "cnai/core/error.hpp"

namespace cnai::server {

std::string new_id(std::string_view prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}{:016x}{:08x}", prefix, rng(), static_cast<std::uint32_t>(rng()));
}

bj::object file_object(const StoredFile& f) {
  return {{"id", f.id},           {"object", "file"},   {"bytes", f.bytes},
          {"created_at", f.created_at}, {"filename", f.filename}, {"purpose", f.purpose},
          {"status", "processed"}};
}

bj::object batch_object(const JobRecord& job) {
  bj::object o = parse_object(job.data);
  o["id"] = job.id;
  o["object"] = "batch";
  o["status"] = job.status;
  o["request_counts"] = bj::object{{"total", job.counts.total},
                                   {"completed", job.counts.completed},
                                   {"failed", job.counts.failed}};
  return o;
}

bj::object list_object(bj::array data, bool has_more) {
  bj::value first = nullptr, last = nullptr;
  if (!data.empty()) {
    first = data.front().as_object().at("id");
    last = data.back().as_object().at("id");
  }
  return {{"object", "list"}, {"data", std::move(data)}, {"first_id", first}, {"last_id", last}, {"has_more", has_more}};
}

std::string response_line(std::string_view batch_id, std::int64_t line, std::string_view custom_id, int status,
                          std::string_view body_json) {
  boost::system::error_code ec;
  bj::value body = bj::parse(bj::string_view(body_json.data(), body_json.size()), ec);
  if (ec) body = bj::string(body_json);
  bj::object o{{"id", fmt::format("batch_req_{}_{}", batch_id.substr(batch_id.find('_') + 1), line)},
               {"custom_id", custom_id},
               {"response", bj::object{{"status_code", status},
                                       {"request_id", fmt::format("req_{}_{}", batch_id.substr(batch_id.find('_') + 1), line)},
                                       {"body", std::move(body)}}},
               {"error", nullptr}};
  return bj::serialize(o);
}

std::string error_line(std::string_view batch_id, std::int64_t line, std::string_view custom_id,
                       std::string_view code, std::string_view message) {
  bj::object o{{"id", fmt::format("batch_req_{}_{}", batch_id.substr(batch_id.find('_') + 1), line)},
               {"custom_id", custom_id},
               {"response", nullptr},
               {"error", bj::object{{"code", code}, {"message", message}}}};
  return bj::serialize(o);
}

bj::object parse_object(std::string_view text) {
  boost::system::error_code ec;
  bj::value v = bj::parse(bj::string_view(text.data(), text.size()), ec);
  if (ec || !v.is_object()) throw Error(ErrorCode::internal, "stored job data is not a JSON object");
  return std::move(v.as_object());
}

std::int64_t parse_window(std::string_view w) {
  if (w.size() < 2) return 0;
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(w.data(), w.data() + w.size() - 1, n);
  if (ec != std::errc() || p != w.data() + w.size() - 1 || n <= 0) return 0;
  switch (w.back()) {
    case 's': return n;
    case 'm': return n * 60;
    case 'h': return n * 3600;
    case 'd': return n * 86400;
    default: return 0;
  }
}

}  // namespace cnai::server
