// JobStore on one SQLite file (WAL): the embedded, durable default. Several
// processes may share the file (a server and `cnai worker`s on one machine);
// leases in the queue table stand in for a consumer group's pending list.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "cnai/server/job_store.hpp"
#include "server/sqlite_db.hpp"

namespace cnai::server {

class SqliteJobStore final : public JobStore {
 public:
  SqliteJobStore(const std::string& path, const JobStoreOptions& options);

  void put_file(const StoredFile& file, std::string_view content) override;
  std::optional<StoredFile> get_file(std::string_view id) override;
  std::optional<std::string> file_content(std::string_view id) override;
  std::vector<StoredFile> list_files() override;
  bool delete_file(std::string_view id) override;

  void create_job(const JobRecord& job, const std::vector<QueueEntry>& entries) override;
  std::optional<JobRecord> get_job(std::string_view id) override;
  std::vector<JobRecord> list_jobs(std::string_view kind, std::size_t limit) override;
  bool update_job(std::string_view id, std::string_view expected, std::string_view status,
                  std::string_view data) override;

  std::optional<QueueEntry> claim(std::string_view consumer, std::chrono::milliseconds wait) override;
  void touch(const QueueEntry& entry, std::string_view consumer) override;
  CompleteOutcome complete(const QueueEntry& entry, const ResultLine& result) override;
  void acknowledge(const QueueEntry& entry) override;
  std::vector<ResultLine> results(std::string_view job_id) override;
  QueueStats queue_stats() override;

 private:
  std::optional<QueueEntry> try_claim(std::string_view consumer);
  JobCounts counts_of(std::string_view job_id);

  JobStoreOptions options_;
  std::mutex mutex_;  // one connection, used by one thread at a time
  SqliteDb db_;
  std::condition_variable queued_;  // wakes claim() when this process queues work
};

}  // namespace cnai::server
