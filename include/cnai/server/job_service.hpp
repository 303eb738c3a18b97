// JobService — OpenAI's asynchronous APIs over a JobStore, without HTTP:
// Files (upload, list, retrieve, content, delete), Batches (create with
// validation, retrieve, list, cancel; finalisation into an output file and an
// error file; the completion window enforced) and background Responses.
// Objects come back as OpenAI JSON text; errors are cnai::Error (not_found,
// invalid_argument naming the field).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "cnai/core/error.hpp"
#include "cnai/server/job_store.hpp"

namespace cnai {

/// One HTTP-shaped call into the server's endpoints (a batch line, a
/// background response), and its answer.
struct EndpointCall {
  std::string url;   // "/v1/chat/completions", "/v1/embeddings", "/v1/responses", ...
  std::string body;  // request JSON
  int priority = 0;  // ChatRequest::priority for the backend
};
struct EndpointResult {
  int status = 200;
  std::string body;  // response JSON (an OpenAI error body when status >= 400)
};
/// Runs a call; `stop` cancels it. Never throws for the call's own failures
/// (they are statuses); throwing means the call could not be attempted.
using EndpointExecutor = std::function<EndpointResult(const EndpointCall&, std::stop_token)>;

struct JobServiceOptions {
  std::int64_t max_file_bytes = 200 << 20;
  /// Priority of batch lines for the backend: below interactive requests (0).
  int batch_priority = -10;
  /// Longest completion window accepted (OpenAI documents "24h").
  std::chrono::seconds max_completion_window{std::chrono::hours(24 * 7)};
  /// Clock, in unix seconds (tests move it).
  std::function<std::int64_t()> now;
};

class JobService {
 public:
  JobService(JobStore& store, JobServiceOptions options = {});

  // ---- Files
  /// purpose "batch" (checked as JSONL when a batch uses it), "batch_output",
  /// "user_data", "assistants", "fine-tune", "vision", "evals".
  std::string create_file(std::string filename, std::string purpose, std::string content);
  std::string file(std::string_view id);
  std::string file_content(std::string_view id);
  std::string list_files(std::optional<std::string> purpose = std::nullopt);
  std::string delete_file(std::string_view id);

  // ---- Batches
  /// Body of POST /v1/batches: input_file_id, endpoint, completion_window,
  /// metadata. The file is validated now: a bad file gives a batch in status
  /// "failed" with `errors`; a good one is queued, one entry per line.
  std::string create_batch(std::string_view body);
  std::string batch(std::string_view id);
  std::string list_batches(std::size_t limit = 20, std::optional<std::string> after = std::nullopt);
  /// Lines not yet answered get a "batch_cancelled" error line; the batch
  /// goes cancelling -> cancelled with its output and error files.
  std::string cancel_batch(std::string_view id);

  // ---- Background responses
  /// Queues a Responses request ("background": true); returns the queued response object.
  std::string create_background_response(std::string_view body, int priority = 0);
  std::string response(std::string_view id);
  std::string cancel_response(std::string_view id);

  // ---- Work (called by JobWorker and periodically by servers)
  /// Handles one claimed queue entry with `execute`; returns after the
  /// result is stored and the entry acknowledged.
  void process(const QueueEntry& entry, const EndpointExecutor& execute, std::stop_token stop,
               int max_deliveries, const std::function<void()>& heartbeat = {});
  /// Finishes what a crash or a clock left half done: batches whose lines are
  /// all answered (finalise), cancelling ones, expired ones.
  void sweep();

  JobStore& store() noexcept { return store_; }
  std::int64_t now() const;

 private:
  void process_batch_line(const JobRecord& job, const QueueEntry& entry, const EndpointExecutor& execute,
                          std::stop_token stop, int max_deliveries);
  void process_response(const JobRecord& job, const QueueEntry& entry, const EndpointExecutor& execute,
                        std::stop_token stop);
  /// Answers every unanswered line with `code`, then moves the batch from
  /// `from` to `final_status` with its files. Idempotent.
  void settle(const std::string& id, std::string_view from, std::string_view final_status, std::string_view code,
              std::string_view message);
  void finalize(const std::string& id);

  JobStore& store_;
  JobServiceOptions options_;
};

}  // namespace cnai
