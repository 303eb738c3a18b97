// JobService: the Files API and the service's clock.
#include <fmt/format.h>

#include <chrono>

#include "cnai/core/error.hpp"
#include "cnai/server/job_service.hpp"
#include "server/job_format.hpp"

namespace cnai {

using server::bj::array;
using server::bj::object;
using server::bj::serialize;

JobService::JobService(JobStore& store, JobServiceOptions options) : store_(store), options_(std::move(options)) {}

std::int64_t JobService::now() const {
  if (options_.now) return options_.now();
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::string JobService::create_file(std::string filename, std::string purpose, std::string content) {
  static constexpr std::string_view kPurposes[] = {"batch", "batch_output", "user_data", "assistants",
                                                   "fine-tune", "vision", "evals"};
  if (std::find(std::begin(kPurposes), std::end(kPurposes), purpose) == std::end(kPurposes)) {
    throw Error(ErrorCode::invalid_argument, fmt::format("purpose: '{}' is not a known purpose", purpose));
  }
  if (filename.empty()) throw Error(ErrorCode::invalid_argument, "file: a file name is required");
  if (static_cast<std::int64_t>(content.size()) > options_.max_file_bytes) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("file: {} bytes is more than the limit of {}", content.size(), options_.max_file_bytes));
  }
  StoredFile f{server::new_id("file-"), std::move(filename), std::move(purpose),
               static_cast<std::int64_t>(content.size()), now()};
  store_.put_file(f, content);
  return serialize(server::file_object(f));
}

std::string JobService::file(std::string_view id) {
  auto f = store_.get_file(id);
  if (!f) throw Error(ErrorCode::not_found, fmt::format("No such File object: {}", id));
  return serialize(server::file_object(*f));
}

std::string JobService::file_content(std::string_view id) {
  auto c = store_.file_content(id);
  if (!c) throw Error(ErrorCode::not_found, fmt::format("No such File object: {}", id));
  return std::move(*c);
}

std::string JobService::list_files(std::optional<std::string> purpose) {
  array data;
  for (const StoredFile& f : store_.list_files()) {
    if (!purpose || f.purpose == *purpose) data.push_back(server::file_object(f));
  }
  return serialize(server::list_object(std::move(data), false));
}

std::string JobService::delete_file(std::string_view id) {
  if (!store_.delete_file(id)) throw Error(ErrorCode::not_found, fmt::format("No such File object: {}", id));
  return serialize(object{{"id", id}, {"object", "file"}, {"deleted", true}});
}

}  // namespace cnai
