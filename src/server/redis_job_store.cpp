// RedisJobStore. Keys (prefix P): P:stream + group P:workers (the queue),
// P:job:ID (hash: kind status data total completed failed created_at),
// P:jobs:KIND (zset by creation order), P:results:ID (hash custom_id ->
// "line\tE|O\tjson"), P:file:ID (hash with content), P:files (zset), P:seq.
// Status changes and results go through Lua scripts so they are atomic.
#include "server/redis_job_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "cnai/core/error.hpp"

namespace cnai::server {
namespace {

// KEYS: job hash. ARGV: expected status, new status, new data.
constexpr const char* kUpdateJob = R"lua(
if redis.call('HGET', KEYS[1], 'status') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'status', ARGV[2], 'data', ARGV[3])
  return 1
end
return 0)lua";

// KEYS: results hash, job hash, stream. ARGV: custom_id, stored value,
// "1" for an error line, group, entry id ("" for none).
constexpr const char* kComplete = R"lua(
local stored = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if stored == 1 and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HINCRBY', KEYS[2], ARGV[3] == '1' and 'failed' or 'completed', 1)
end
if ARGV[5] ~= '' then
  redis.call('XACK', KEYS[3], ARGV[4], ARGV[5])
  redis.call('XDEL', KEYS[3], ARGV[5])
end
local c = redis.call('HMGET', KEYS[2], 'total', 'completed', 'failed')
return {stored, tonumber(c[1] or '0') or 0, tonumber(c[2] or '0') or 0, tonumber(c[3] or '0') or 0})lua";

std::string field(const redisReply* fields, std::string_view name) {
  if (!fields || fields->type != REDIS_REPLY_ARRAY) return {};
  for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
    if (reply_text(fields->element[i]) == name) return reply_text(fields->element[i + 1]);
  }
  return {};
}

std::int64_t to_int(const std::string& s) {
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// An entry of an XREADGROUP/XAUTOCLAIM reply: [id, [field, value, ...]].
std::optional<QueueEntry> entry_from(const redisReply* e) {
  if (!e || e->type != REDIS_REPLY_ARRAY || e->elements < 2 || e->element[1]->type != REDIS_REPLY_ARRAY) {
    return std::nullopt;  // a deleted entry XAUTOCLAIM still lists
  }
  const redisReply* f = e->element[1];
  QueueEntry q;
  q.receipt = reply_text(e->element[0]);
  q.job_id = field(f, "job");
  q.custom_id = field(f, "custom_id");
  q.line = to_int(field(f, "line"));
  q.body = field(f, "body");
  q.priority = static_cast<int>(to_int(field(f, "priority")));
  return q;
}

}  // namespace

RedisJobStore::RedisJobStore(const RedisUrl& url, const JobStoreOptions& options, std::string prefix)
    : options_(options),
      prefix_(std::move(prefix)),
      stream_(prefix_ + ":stream"),
      group_(prefix_ + ":workers"),
      pool_(url, std::chrono::milliseconds{5000}) {
  auto c = pool_.get();
  RedisReply r = c->command_raw({"XGROUP", "CREATE", stream_, group_, "0", "MKSTREAM"});
  if (r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).find("BUSYGROUP") == std::string_view::npos) {
    throw Error(ErrorCode::unavailable, fmt::format("redis XGROUP CREATE: {}", std::string_view(r->str, r->len)));
  }
}

std::string RedisJobStore::key(std::string_view kind, std::string_view id) const {
  return fmt::format("{}:{}:{}", prefix_, kind, id);
}

void RedisJobStore::put_file(const StoredFile& f, std::string_view content) {
  auto c = pool_.get();
  const std::int64_t seq = reply_int(c->command({"INCR", prefix_ + ":seq"}).get());
  c->pipeline({{"MULTI"},
               {"HSET", key("file", f.id), "filename", f.filename, "purpose", f.purpose, "bytes",
                std::to_string(content.size()), "created_at", std::to_string(f.created_at), "content",
                std::string(content)},
               {"ZADD", prefix_ + ":files", std::to_string(seq), f.id},
               {"EXEC"}});
}

std::optional<StoredFile> RedisJobStore::get_file(std::string_view id) {
  auto c = pool_.get();
  RedisReply r = c->command({"HMGET", key("file", id), "filename", "purpose", "bytes", "created_at"});
  if (r->elements < 4 || r->element[0]->type == REDIS_REPLY_NIL) return std::nullopt;
  return StoredFile{std::string(id), reply_text(r->element[0]), reply_text(r->element[1]), reply_int(r->element[2]),
                    reply_int(r->element[3])};
}

std::optional<std::string> RedisJobStore::file_content(std::string_view id) {
  auto c = pool_.get();
  RedisReply r = c->command({"HGET", key("file", id), "content"});
  if (r->type == REDIS_REPLY_NIL) return std::nullopt;
  return reply_text(r.get());
}

std::vector<StoredFile> RedisJobStore::list_files() {
  std::vector<std::string> ids;
  {
    auto c = pool_.get();
    RedisReply r = c->command({"ZREVRANGE", prefix_ + ":files", "0", "-1"});
    for (std::size_t i = 0; i < r->elements; ++i) ids.push_back(reply_text(r->element[i]));
  }
  std::vector<StoredFile> out;
  for (const std::string& id : ids) {
    if (auto f = get_file(id)) out.push_back(std::move(*f));
  }
  return out;
}

bool RedisJobStore::delete_file(std::string_view id) {
  auto c = pool_.get();
  auto replies = c->pipeline({{"DEL", key("file", id)}, {"ZREM", prefix_ + ":files", std::string(id)}});
  return reply_int(replies[0].get()) > 0;
}

void RedisJobStore::create_job(const JobRecord& job, const std::vector<QueueEntry>& entries) {
  auto c = pool_.get();
  const std::int64_t seq = reply_int(c->command({"INCR", prefix_ + ":seq"}).get());
  // MULTI/EXEC: the record and every entry, or (connection lost first) none.
  std::vector<std::vector<std::string>> cmds{{"MULTI"}};
  cmds.push_back({"HSET", key("job", job.id), "kind", job.kind, "status", job.status, "data", job.data, "total",
                  std::to_string(entries.size()), "completed", "0", "failed", "0", "created_at",
                  std::to_string(job.created_at)});
  cmds.push_back({"ZADD", key("jobs", job.kind), std::to_string(seq), job.id});
  for (const QueueEntry& e : entries) {
    cmds.push_back({"XADD", stream_, "*", "job", job.id, "custom_id", e.custom_id, "line", std::to_string(e.line),
                    "priority", std::to_string(e.priority), "body", e.body});
  }
  cmds.push_back({"EXEC"});
  c->pipeline(cmds);
}

std::optional<JobRecord> RedisJobStore::get_job(std::string_view id) {
  auto c = pool_.get();
  RedisReply r =
      c->command({"HMGET", key("job", id), "kind", "status", "data", "total", "completed", "failed", "created_at"});
  if (r->elements < 7 || r->element[0]->type == REDIS_REPLY_NIL) return std::nullopt;
  JobRecord j;
  j.id = std::string(id);
  j.kind = reply_text(r->element[0]);
  j.status = reply_text(r->element[1]);
  j.data = reply_text(r->element[2]);
  j.counts = {reply_int(r->element[3]), reply_int(r->element[4]), reply_int(r->element[5])};
  j.created_at = reply_int(r->element[6]);
  return j;
}

std::vector<JobRecord> RedisJobStore::list_jobs(std::string_view kind, std::size_t limit) {
  std::vector<std::string> ids;
  {
    auto c = pool_.get();
    RedisReply r = c->command({"ZREVRANGE", key("jobs", kind), "0", std::to_string(limit == 0 ? 0 : limit - 1)});
    for (std::size_t i = 0; i < r->elements; ++i) ids.push_back(reply_text(r->element[i]));
  }
  std::vector<JobRecord> out;
  if (limit == 0) return out;
  for (const std::string& id : ids) {
    if (auto j = get_job(id)) out.push_back(std::move(*j));
  }
  return out;
}

bool RedisJobStore::update_job(std::string_view id, std::string_view expected, std::string_view status,
                               std::string_view data) {
  auto c = pool_.get();
  RedisReply r = c->command({"EVAL", kUpdateJob, "1", key("job", id), std::string(expected), std::string(status),
                             std::string(data)});
  return reply_int(r.get()) == 1;
}

std::optional<QueueEntry> RedisJobStore::reclaim(std::string_view consumer) {
  std::string cursor;
  {
    std::lock_guard lock(cursor_mutex_);
    cursor = reclaim_cursor_;
  }
  auto c = pool_.get();
  RedisReply r = c->command({"XAUTOCLAIM", stream_, group_, std::string(consumer),
                             std::to_string(options_.lease.count()), cursor, "COUNT", "1"});
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) return std::nullopt;
  {
    std::lock_guard lock(cursor_mutex_);
    reclaim_cursor_ = reply_text(r->element[0]);
  }
  const redisReply* claimed = r->element[1];
  for (std::size_t i = 0; i < claimed->elements; ++i) {
    auto e = entry_from(claimed->element[i]);
    if (!e) continue;
    // XAUTOCLAIM counted this delivery; XPENDING tells how many there were.
    RedisReply p = c->command({"XPENDING", stream_, group_, e->receipt, e->receipt, "1"});
    e->deliveries = 1;
    if (p->elements == 1 && p->element[0]->elements >= 4) e->deliveries = static_cast<int>(reply_int(p->element[0]->element[3]));
    return e;
  }
  return std::nullopt;
}

std::optional<QueueEntry> RedisJobStore::claim(std::string_view consumer, std::chrono::milliseconds wait) {
  if (auto e = reclaim(consumer)) return e;
  auto c = pool_.get();
  RedisReply r = c->command({"XREADGROUP", "GROUP", group_, std::string(consumer), "COUNT", "1", "BLOCK",
                             std::to_string(std::max<std::int64_t>(1, wait.count())), "STREAMS", stream_, ">"});
  // [[stream, [[id, fields]]]] or nil on time-out.
  if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) return std::nullopt;
  const redisReply* stream = r->element[0];
  if (stream->elements < 2 || stream->element[1]->elements == 0) return std::nullopt;
  auto e = entry_from(stream->element[1]->element[0]);
  if (e) e->deliveries = 1;
  return e;
}

void RedisJobStore::touch(const QueueEntry& entry, std::string_view consumer) {
  auto c = pool_.get();  // XCLAIM with min-idle 0 and JUSTID resets the idle time, not the count
  c->command({"XCLAIM", stream_, group_, std::string(consumer), "0", entry.receipt, "JUSTID"});
}

CompleteOutcome RedisJobStore::complete(const QueueEntry& entry, const ResultLine& result) {
  auto c = pool_.get();
  const std::string value = fmt::format("{}\t{}\t{}", result.line, result.error ? 'E' : 'O', result.json);
  RedisReply r = c->command({"EVAL", kComplete, "3", key("results", entry.job_id), key("job", entry.job_id), stream_,
                             result.custom_id, value, result.error ? "1" : "0", group_, entry.receipt});
  CompleteOutcome out;
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 4) {
    out.stored = reply_int(r->element[0]) == 1;
    out.counts = {reply_int(r->element[1]), reply_int(r->element[2]), reply_int(r->element[3])};
  }
  return out;
}

void RedisJobStore::acknowledge(const QueueEntry& entry) {
  if (entry.receipt.empty()) return;
  auto c = pool_.get();
  c->pipeline({{"XACK", stream_, group_, entry.receipt}, {"XDEL", stream_, entry.receipt}});
}

std::vector<ResultLine> RedisJobStore::results(std::string_view job_id) {
  auto c = pool_.get();
  RedisReply r = c->command({"HGETALL", key("results", job_id)});
  std::vector<ResultLine> out;
  for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
    ResultLine line;
    line.custom_id = reply_text(r->element[i]);
    const std::string v = reply_text(r->element[i + 1]);
    const auto t1 = v.find('\t');
    const auto t2 = t1 == std::string::npos ? t1 : v.find('\t', t1 + 1);
    if (t2 == std::string::npos) continue;
    line.line = to_int(v.substr(0, t1));
    line.error = v[t1 + 1] == 'E';
    line.json = v.substr(t2 + 1);
    out.push_back(std::move(line));
  }
  std::sort(out.begin(), out.end(), [](const ResultLine& a, const ResultLine& b) {
    return a.line != b.line ? a.line < b.line : a.custom_id < b.custom_id;
  });
  return out;
}

QueueStats RedisJobStore::queue_stats() {
  auto c = pool_.get();
  auto replies = c->pipeline({{"XLEN", stream_}, {"XPENDING", stream_, group_}});
  const std::int64_t len = reply_int(replies[0].get());
  const redisReply* p = replies[1].get();
  const std::int64_t pending = p->type == REDIS_REPLY_ARRAY && p->elements > 0 ? reply_int(p->element[0]) : 0;
  return {std::max<std::int64_t>(0, len - pending), pending};
}

}  // namespace cnai::server
