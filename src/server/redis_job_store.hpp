// JobStore on Redis, for many servers and workers: one stream entry per
// request line read through a consumer group, acknowledged (and deleted) in
// the same script that durably stores its result; entries of dead workers
// reclaimed with XAUTOCLAIM once idle past the lease.
#pragma once

#include <mutex>
#include <string>

#include "cnai/server/job_store.hpp"
#include "server/redis_connection.hpp"

namespace cnai::server {

class RedisJobStore final : public JobStore {
 public:
  /// `prefix` namespaces every key ("cnai" -> cnai:stream, cnai:job:ID ...).
  RedisJobStore(const RedisUrl& url, const JobStoreOptions& options, std::string prefix = "cnai");

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

  const std::string& stream_key() const { return stream_; }
  const std::string& group() const { return group_; }

 private:
  std::optional<QueueEntry> reclaim(std::string_view consumer);
  std::string key(std::string_view kind, std::string_view id) const;

  JobStoreOptions options_;
  std::string prefix_, stream_, group_;
  RedisPool pool_;
  std::mutex cursor_mutex_;
  std::string reclaim_cursor_ = "0-0";  // XAUTOCLAIM walks the pending list across calls
};

}  // namespace cnai::server
