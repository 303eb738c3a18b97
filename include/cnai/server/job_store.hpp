// JobStore — where the server keeps uploaded files, asynchronous jobs (batches,
// background responses) and the queue of work they make, behind one interface
// with two engines: SQLite on local disk (the default) and Redis Streams (many
// servers and workers sharing one Redis). Every call is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cnai/core/error.hpp"

namespace cnai {

/// An uploaded (or a batch's output) file's metadata; the content is stored beside it.
struct StoredFile {
  std::string id;
  std::string filename;
  std::string purpose;  // "batch", "batch_output", ...
  std::int64_t bytes = 0;
  std::int64_t created_at = 0;  // unix seconds
};

/// How many of a job's request lines have a result.
struct JobCounts {
  std::int64_t total = 0;
  std::int64_t completed = 0;  // a 2xx response
  std::int64_t failed = 0;     // an error line
};

/// A batch or a background response. `status` is changed only by
/// compare-and-set (JobStore::update_job), so concurrent servers and workers
/// agree on every transition; `data` is the rest of the object as JSON text.
struct JobRecord {
  std::string id;
  std::string kind;  // "batch" | "response"
  std::string status;
  std::string data = "{}";
  JobCounts counts;
  std::int64_t created_at = 0;
};

/// One unit of queued work: a batch's request line or a background response.
struct QueueEntry {
  std::string job_id;
  std::string custom_id;  // the batch line's custom_id; a response's id
  std::int64_t line = 0;  // 1-based line of the input file (0 for responses)
  std::string body;       // the input line (batches) or request body (responses)
  int priority = 0;       // higher is served first where the engine can
  /// Set by claim(): how often this entry has been handed out, this time
  /// included, and the engine's handle for acknowledging it.
  int deliveries = 0;
  std::string receipt;
};

/// A request line's one result: a line of the output file or of the error file.
struct ResultLine {
  std::string custom_id;
  std::int64_t line = 0;
  bool error = false;  // goes to the error file
  std::string json;    // the whole line, without its newline
};

struct CompleteOutcome {
  bool stored = false;  // false: the line already had a result (a redelivery)
  JobCounts counts;     // after this call
};

struct QueueStats {
  std::int64_t ready = 0;    // waiting for a worker
  std::int64_t pending = 0;  // handed to a worker, not yet acknowledged
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  // ---- files
  virtual void put_file(const StoredFile& file, std::string_view content) = 0;
  virtual std::optional<StoredFile> get_file(std::string_view id) = 0;
  virtual std::optional<std::string> file_content(std::string_view id) = 0;
  virtual std::vector<StoredFile> list_files() = 0;  // newest first
  virtual bool delete_file(std::string_view id) = 0;

  // ---- jobs
  /// Stores the record and queues its entries as one step: a crash leaves
  /// both or neither. counts.total is set to entries.size() for batches.
  virtual void create_job(const JobRecord& job, const std::vector<QueueEntry>& entries) = 0;
  virtual std::optional<JobRecord> get_job(std::string_view id) = 0;
  /// Newest first, at most `limit`.
  virtual std::vector<JobRecord> list_jobs(std::string_view kind, std::size_t limit) = 0;
  /// Sets status and data when the status is still `expected`; false otherwise.
  virtual bool update_job(std::string_view id, std::string_view expected, std::string_view status,
                          std::string_view data) = 0;

  // ---- the queue
  /// The next entry for `consumer`, waiting up to `wait` for one. Entries a
  /// consumer claimed and did not acknowledge within the lease come back
  /// (a dead worker's work is redone), with deliveries counted.
  virtual std::optional<QueueEntry> claim(std::string_view consumer, std::chrono::milliseconds wait) = 0;
  /// Keeps a claimed entry's lease alive while it is being worked on.
  virtual void touch(const QueueEntry& entry, std::string_view consumer) = 0;
  /// Writes `result` durably (first result per job and custom_id wins),
  /// counts it, then acknowledges `entry` (an entry without a receipt: no
  /// acknowledgement, for lines a cancel or expiry answers without running).
  virtual CompleteOutcome complete(const QueueEntry& entry, const ResultLine& result) = 0;
  /// Acknowledges an entry without a result (its job was answered otherwise).
  virtual void acknowledge(const QueueEntry& entry) = 0;
  /// Every stored result of a job, ordered by line.
  virtual std::vector<ResultLine> results(std::string_view job_id) = 0;
  virtual QueueStats queue_stats() = 0;
};

struct JobStoreOptions {
  /// A claimed entry not acknowledged (nor touched) within this is handed out again.
  std::chrono::milliseconds lease{120000};
};

/// "sqlite:///abs/path.db", "sqlite://relative.db" or a plain path: SQLite;
/// "redis://[:password@]host[:port][/db]": Redis Streams. Errors:
/// invalid_argument (an unknown scheme), unavailable (cannot open or connect).
std::unique_ptr<JobStore> open_job_store(const std::string& url, const JobStoreOptions& options = {});

}  // namespace cnai
