// JobService: the Batch API — create (validate, queue), retrieve, list,
// cancel — and the transitions that end a batch: finalize (all lines
// answered), settle (cancel, expiry), sweep (finish what a crash left).
#include <fmt/format.h>

#include <set>

#include "cnai/core/error.hpp"
#include "cnai/server/job_service.hpp"
#include "server/batch_input.hpp"
#include "server/job_format.hpp"
#include "server/json_body.hpp"

namespace cnai {

namespace bj = server::bj;

namespace {

std::string required_string(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  if (!v || v->is_null()) throw Error(ErrorCode::invalid_argument, fmt::format("{}: is required", key));
  if (!v->is_string()) throw Error(ErrorCode::invalid_argument, fmt::format("{}: expected a string", key));
  return std::string(v->as_string());
}

bj::value errors_object(const std::vector<server::BatchInputError>& errors) {
  bj::array data;
  for (const auto& e : errors) {
    data.push_back(bj::object{{"code", e.code},
                              {"message", e.message},
                              {"param", e.param.empty() ? bj::value(nullptr) : bj::value(bj::string(e.param))},
                              {"line", e.line == 0 ? bj::value(nullptr) : bj::value(e.line)}});
  }
  return bj::object{{"object", "list"}, {"data", std::move(data)}};
}

bool finished(std::string_view status) {
  return status == "completed" || status == "failed" || status == "expired" || status == "cancelled";
}

}  // namespace

std::string JobService::create_batch(std::string_view body) {
  const bj::object req = server::parse_body_object(body);
  const std::string input_file_id = required_string(req, "input_file_id");
  const std::string endpoint = required_string(req, "endpoint");
  const std::string window = required_string(req, "completion_window");
  if (!server::is_batch_endpoint(endpoint)) {
    throw Error(ErrorCode::invalid_argument, fmt::format("endpoint: '{}' is not a batch endpoint", endpoint));
  }
  const std::int64_t window_s = server::parse_window(window);
  if (window_s <= 0 || window_s > options_.max_completion_window.count()) {
    throw Error(ErrorCode::invalid_argument, fmt::format("completion_window: '{}' is not supported (use 24h)", window));
  }
  bj::value metadata = nullptr;
  if (const bj::value* m = req.if_contains("metadata"); m && !m->is_null()) {
    if (!m->is_object() || m->as_object().size() > 16) {
      throw Error(ErrorCode::invalid_argument, "metadata: expected an object of at most 16 string pairs");
    }
    metadata = *m;
  }
  auto file = store_.get_file(input_file_id);
  if (!file) throw Error(ErrorCode::not_found, fmt::format("No such File object: {}", input_file_id));
  if (file->purpose != "batch") {
    throw Error(ErrorCode::invalid_argument, fmt::format("input_file_id: file {} has purpose '{}', not 'batch'",
                                                         input_file_id, file->purpose));
  }
  const std::string content = store_.file_content(input_file_id).value_or("");
  const server::BatchInput input = server::parse_batch_input(content, endpoint);

  const std::int64_t t = now();
  JobRecord job;
  job.id = server::new_id("batch_");
  job.kind = "batch";
  job.created_at = t;
  bj::object data{{"endpoint", endpoint},       {"errors", nullptr},        {"input_file_id", input_file_id},
                  {"completion_window", window}, {"output_file_id", nullptr}, {"error_file_id", nullptr},
                  {"created_at", t},            {"in_progress_at", nullptr}, {"expires_at", t + window_s},
                  {"finalizing_at", nullptr},   {"completed_at", nullptr},  {"failed_at", nullptr},
                  {"expired_at", nullptr},      {"cancelling_at", nullptr}, {"cancelled_at", nullptr},
                  {"metadata", metadata}};
  std::vector<QueueEntry> entries;
  if (!input.errors.empty()) {
    job.status = "failed";
    data["errors"] = errors_object(input.errors);
    data["failed_at"] = t;
  } else {
    // Validated at once, so the batch is in progress as it is created.
    job.status = "in_progress";
    data["in_progress_at"] = t;
    for (const auto& line : input.lines) {
      QueueEntry e;
      e.custom_id = line.custom_id;
      e.line = line.line;
      e.body = line.body;
      e.priority = options_.batch_priority;
      entries.push_back(std::move(e));
    }
  }
  job.data = bj::serialize(data);
  store_.create_job(job, entries);
  job.counts.total = static_cast<std::int64_t>(entries.size());
  return bj::serialize(server::batch_object(job));
}

std::string JobService::batch(std::string_view id) {
  auto job = store_.get_job(id);
  if (!job || job->kind != "batch") throw Error(ErrorCode::not_found, fmt::format("No such Batch object: {}", id));
  return bj::serialize(server::batch_object(*job));
}

std::string JobService::list_batches(std::size_t limit, std::optional<std::string> after) {
  limit = std::clamp<std::size_t>(limit, 1, 100);
  // Pages of newest-first ids; `after` names the last id of the previous page.
  auto jobs = store_.list_jobs("batch", 100000);
  std::size_t start = 0;
  if (after) {
    while (start < jobs.size() && jobs[start].id != *after) ++start;
    start = start < jobs.size() ? start + 1 : jobs.size();
  }
  bj::array data;
  for (std::size_t i = start; i < jobs.size() && data.size() < limit; ++i) data.push_back(server::batch_object(jobs[i]));
  const bool more = start + data.size() < jobs.size();
  return bj::serialize(server::list_object(std::move(data), more));
}

std::string JobService::cancel_batch(std::string_view id) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto job = store_.get_job(id);
    if (!job || job->kind != "batch") throw Error(ErrorCode::not_found, fmt::format("No such Batch object: {}", id));
    if (job->status == "cancelling" || job->status == "cancelled") break;
    if (finished(job->status) || job->status == "finalizing") {
      throw Error(ErrorCode::invalid_argument,
                  fmt::format("Cannot cancel a batch with status '{}'.", job->status));
    }
    bj::object data = server::parse_object(job->data);
    data["cancelling_at"] = now();
    if (store_.update_job(id, job->status, "cancelling", bj::serialize(data))) break;
  }
  settle(std::string(id), "cancelling", "cancelled", "batch_cancelled", "The batch was cancelled before this request ran.");
  return batch(id);
}

void JobService::settle(const std::string& id, std::string_view from, std::string_view final_status,
                        std::string_view code, std::string_view message) {
  auto job = store_.get_job(id);
  if (!job || job->status != from) return;
  bj::object data = server::parse_object(job->data);
  // Answer every line that has no result (first result per line wins, so a
  // worker finishing one meanwhile is harmless either way).
  std::set<std::string> answered;
  for (const ResultLine& r : store_.results(id)) answered.insert(r.custom_id);
  if (answered.size() < static_cast<std::size_t>(job->counts.total)) {
    const std::string content = store_.file_content(std::string(data["input_file_id"].as_string())).value_or("");
    const auto input = server::parse_batch_input(content, std::string(data["endpoint"].as_string()));
    for (const auto& line : input.lines) {
      if (answered.count(line.custom_id)) continue;
      QueueEntry e;
      e.job_id = id;
      e.custom_id = line.custom_id;
      e.line = line.line;
      store_.complete(e, {line.custom_id, line.line, true, server::error_line(id, line.line, line.custom_id, code, message)});
    }
  }
  // The files first, under ids derived from the batch, then the status: a
  // reader never sees a finished batch without its files, and a retry after
  // a crash rewrites the same files.
  std::string output, errors;
  for (const ResultLine& r : store_.results(id)) (r.error ? errors : output) += r.json + "\n";
  const std::string suffix = id.substr(id.find('_') + 1);
  const std::int64_t t = now();
  if (!output.empty()) {
    StoredFile f{"file-out-" + suffix, id + "_output.jsonl", "batch_output", 0, t};
    store_.put_file(f, output);
    data["output_file_id"] = f.id;
  }
  if (!errors.empty()) {
    StoredFile f{"file-err-" + suffix, id + "_error.jsonl", "batch_output", 0, t};
    store_.put_file(f, errors);
    data["error_file_id"] = f.id;
  }
  data[std::string(final_status) + "_at"] = t;
  store_.update_job(id, from, final_status, bj::serialize(data));
}

void JobService::finalize(const std::string& id) {
  auto job = store_.get_job(id);
  if (!job) return;
  if (job->status == "in_progress") {
    if (job->counts.completed + job->counts.failed < job->counts.total) return;
    bj::object data = server::parse_object(job->data);
    data["finalizing_at"] = now();
    if (!store_.update_job(id, "in_progress", "finalizing", bj::serialize(data))) return;
  } else if (job->status != "finalizing") {
    if (job->status == "cancelling") settle(id, "cancelling", "cancelled", "batch_cancelled", "The batch was cancelled.");
    return;
  }
  settle(id, "finalizing", "completed", "batch_failed", "This request has no result.");
}

void JobService::sweep() {
  for (const JobRecord& job : store_.list_jobs("batch", 1000)) {
    if (job.status == "finalizing") {
      finalize(job.id);
    } else if (job.status == "cancelling") {
      settle(job.id, "cancelling", "cancelled", "batch_cancelled", "The batch was cancelled before this request ran.");
    } else if (job.status == "in_progress") {
      const bj::object data = server::parse_object(job.data);
      const bj::value* exp = data.if_contains("expires_at");
      if (job.counts.completed + job.counts.failed >= job.counts.total) {
        finalize(job.id);
      } else if (exp && exp->is_int64() && now() >= exp->as_int64()) {
        settle(job.id, "in_progress", "expired", "batch_expired",
               "This request could not be executed before the completion window expired.");
      }
    }
  }
}

}  // namespace cnai
