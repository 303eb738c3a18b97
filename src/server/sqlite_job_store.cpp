// SqliteJobStore: files, jobs, queue and results in four tables. A claim is
// an UPDATE that leases the oldest ready row; complete() inserts the result
// (first per job and custom_id wins), counts it and deletes the queue row in
// one transaction, so a crash anywhere leaves the line either to redo or done.
#include "server/sqlite_job_store.hpp"

#include <algorithm>
#include <thread>

#include "cnai/core/error.hpp"

namespace cnai::server {
namespace {

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS files(id TEXT PRIMARY KEY, filename TEXT NOT NULL, purpose TEXT NOT NULL,
  bytes INTEGER NOT NULL, created_at INTEGER NOT NULL, content BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS jobs(id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL,
  data TEXT NOT NULL, total INTEGER NOT NULL, completed INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_by_kind ON jobs(kind, created_at);
CREATE TABLE IF NOT EXISTS queue(seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL,
  custom_id TEXT NOT NULL, line INTEGER NOT NULL, body TEXT NOT NULL, priority INTEGER NOT NULL,
  deliveries INTEGER NOT NULL DEFAULT 0, consumer TEXT, lease_until INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS queue_order ON queue(priority DESC, seq);
CREATE TABLE IF NOT EXISTS results(job_id TEXT NOT NULL, custom_id TEXT NOT NULL, line INTEGER NOT NULL,
  error INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY(job_id, custom_id));
)sql";

StoredFile file_from(const SqliteStmt& s) {
  return StoredFile{s.text(0), s.text(1), s.text(2), s.int64(3), s.int64(4)};
}

JobRecord job_from(const SqliteStmt& s) {
  JobRecord j;
  j.id = s.text(0);
  j.kind = s.text(1);
  j.status = s.text(2);
  j.data = s.text(3);
  j.counts = {s.int64(4), s.int64(5), s.int64(6)};
  j.created_at = s.int64(7);
  return j;
}

constexpr const char* kJobColumns = "id, kind, status, data, total, completed, failed, created_at";

}  // namespace

SqliteJobStore::SqliteJobStore(const std::string& path, const JobStoreOptions& options)
    : options_(options), db_(path) {
  db_.exec(kSchema);
}

void SqliteJobStore::put_file(const StoredFile& f, std::string_view content) {
  std::lock_guard lock(mutex_);
  db_.prepare("INSERT OR REPLACE INTO files(id, filename, purpose, bytes, created_at, content) VALUES(?,?,?,?,?,?)")
      .bind(1, f.id).bind(2, f.filename).bind(3, f.purpose)
      .bind(4, static_cast<std::int64_t>(content.size())).bind(5, f.created_at).bind(6, content)
      .step();
}

std::optional<StoredFile> SqliteJobStore::get_file(std::string_view id) {
  std::lock_guard lock(mutex_);
  auto s = db_.prepare("SELECT id, filename, purpose, bytes, created_at FROM files WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return file_from(s);
}

std::optional<std::string> SqliteJobStore::file_content(std::string_view id) {
  std::lock_guard lock(mutex_);
  auto s = db_.prepare("SELECT content FROM files WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

std::vector<StoredFile> SqliteJobStore::list_files() {
  std::lock_guard lock(mutex_);
  auto s = db_.prepare("SELECT id, filename, purpose, bytes, created_at FROM files ORDER BY created_at DESC, rowid DESC");
  std::vector<StoredFile> out;
  while (s.step()) out.push_back(file_from(s));
  return out;
}

bool SqliteJobStore::delete_file(std::string_view id) {
  std::lock_guard lock(mutex_);
  db_.prepare("DELETE FROM files WHERE id = ?").bind(1, id).step();
  return db_.changes() > 0;
}

void SqliteJobStore::create_job(const JobRecord& job, const std::vector<QueueEntry>& entries) {
  {
    std::lock_guard lock(mutex_);
    SqliteTransaction tx(db_);
    db_.prepare("INSERT INTO jobs(id, kind, status, data, total, completed, failed, created_at) VALUES(?,?,?,?,?,0,0,?)")
        .bind(1, job.id).bind(2, job.kind).bind(3, job.status).bind(4, job.data)
        .bind(5, static_cast<std::int64_t>(entries.size())).bind(6, job.created_at)
        .step();
    auto insert = db_.prepare("INSERT INTO queue(job_id, custom_id, line, body, priority) VALUES(?,?,?,?,?)");
    for (const QueueEntry& e : entries) {
      insert.bind(1, job.id).bind(2, e.custom_id).bind(3, e.line).bind(4, e.body).bind(5, std::int64_t{e.priority});
      insert.step();
      insert.reset();
    }
    tx.commit();
  }
  queued_.notify_all();
}

std::optional<JobRecord> SqliteJobStore::get_job(std::string_view id) {
  std::lock_guard lock(mutex_);
  auto s = db_.prepare(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return job_from(s);
}

std::vector<JobRecord> SqliteJobStore::list_jobs(std::string_view kind, std::size_t limit) {
  std::lock_guard lock(mutex_);
  auto s = db_.prepare(std::string("SELECT ") + kJobColumns +
                       " FROM jobs WHERE kind = ? ORDER BY created_at DESC, rowid DESC LIMIT ?");
  s.bind(1, kind).bind(2, static_cast<std::int64_t>(limit));
  std::vector<JobRecord> out;
  while (s.step()) out.push_back(job_from(s));
  return out;
}

bool SqliteJobStore::update_job(std::string_view id, std::string_view expected, std::string_view status,
                                std::string_view data) {
  std::lock_guard lock(mutex_);
  db_.prepare("UPDATE jobs SET status = ?, data = ? WHERE id = ? AND status = ?")
      .bind(1, status).bind(2, data).bind(3, id).bind(4, expected)
      .step();
  return db_.changes() > 0;
}

std::optional<QueueEntry> SqliteJobStore::try_claim(std::string_view consumer) {
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db_);
  const std::int64_t now = now_ms();
  auto s = db_.prepare(
      "SELECT seq, job_id, custom_id, line, body, priority, deliveries FROM queue "
      "WHERE lease_until <= ? ORDER BY priority DESC, seq LIMIT 1");
  s.bind(1, now);
  if (!s.step()) return std::nullopt;
  QueueEntry e;
  const std::int64_t seq = s.int64(0);
  e.job_id = s.text(1);
  e.custom_id = s.text(2);
  e.line = s.int64(3);
  e.body = s.text(4);
  e.priority = static_cast<int>(s.int64(5));
  e.deliveries = static_cast<int>(s.int64(6)) + 1;
  e.receipt = std::to_string(seq);
  db_.prepare("UPDATE queue SET deliveries = deliveries + 1, consumer = ?, lease_until = ? WHERE seq = ?")
      .bind(1, consumer).bind(2, now + options_.lease.count()).bind(3, seq)
      .step();
  tx.commit();
  return e;
}

std::optional<QueueEntry> SqliteJobStore::claim(std::string_view consumer, std::chrono::milliseconds wait) {
  // SQLite cannot block on a row: poll, woken early when this process queues
  // work; other processes' work is seen within the poll interval.
  const auto until = std::chrono::steady_clock::now() + wait;
  std::chrono::milliseconds interval{10};
  while (true) {
    if (auto e = try_claim(consumer)) return e;
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) return std::nullopt;
    std::unique_lock lock(mutex_);
    queued_.wait_until(lock, std::min(until, now + interval));
    interval = std::min(interval * 2, std::chrono::milliseconds{200});
  }
}

void SqliteJobStore::touch(const QueueEntry& entry, std::string_view consumer) {
  std::lock_guard lock(mutex_);
  db_.prepare("UPDATE queue SET lease_until = ? WHERE seq = ? AND consumer = ?")
      .bind(1, now_ms() + options_.lease.count()).bind(2, std::stoll(entry.receipt)).bind(3, consumer)
      .step();
}

JobCounts SqliteJobStore::counts_of(std::string_view job_id) {
  auto s = db_.prepare("SELECT total, completed, failed FROM jobs WHERE id = ?");
  s.bind(1, job_id);
  if (!s.step()) return {};
  return {s.int64(0), s.int64(1), s.int64(2)};
}

CompleteOutcome SqliteJobStore::complete(const QueueEntry& entry, const ResultLine& result) {
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db_);
  CompleteOutcome out;
  db_.prepare("INSERT OR IGNORE INTO results(job_id, custom_id, line, error, json) VALUES(?,?,?,?,?)")
      .bind(1, entry.job_id).bind(2, result.custom_id).bind(3, result.line)
      .bind(4, std::int64_t{result.error ? 1 : 0}).bind(5, result.json)
      .step();
  out.stored = db_.changes() > 0;
  if (out.stored) {
    db_.prepare(result.error ? "UPDATE jobs SET failed = failed + 1 WHERE id = ?"
                             : "UPDATE jobs SET completed = completed + 1 WHERE id = ?")
        .bind(1, entry.job_id)
        .step();
  }
  if (!entry.receipt.empty()) db_.prepare("DELETE FROM queue WHERE seq = ?").bind(1, std::stoll(entry.receipt)).step();
  out.counts = counts_of(entry.job_id);
  tx.commit();
  return out;
}

void SqliteJobStore::acknowledge(const QueueEntry& entry) {
  if (entry.receipt.empty()) return;
  std::lock_guard lock(mutex_);
  db_.prepare("DELETE FROM queue WHERE seq = ?").bind(1, std::stoll(entry.receipt)).step();
}

std::vector<ResultLine> SqliteJobStore::results(std::string_view job_id) {
  std::lock_guard lock(mutex_);
  auto s = db_.prepare("SELECT custom_id, line, error, json FROM results WHERE job_id = ? ORDER BY line, custom_id");
  s.bind(1, job_id);
  std::vector<ResultLine> out;
  while (s.step()) out.push_back(ResultLine{s.text(0), s.int64(1), s.int64(2) != 0, s.text(3)});
  return out;
}

QueueStats SqliteJobStore::queue_stats() {
  std::lock_guard lock(mutex_);
  auto s = db_.prepare("SELECT COALESCE(SUM(lease_until <= ?1), 0), COALESCE(SUM(lease_until > ?1), 0) FROM queue");
  s.bind(1, now_ms());
  s.step();
  return {s.int64(0), s.int64(1)};
}

}  // namespace cnai::server
