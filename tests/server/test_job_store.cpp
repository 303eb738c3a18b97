// JobStore, run against both engines with real servers: SQLite on a temp
// file, Redis Streams on a redis-server this test starts. Files, jobs with
// compare-and-set status, claim/complete with exactly one result per line,
// leases that hand a dead consumer's entries to another, durability across
// reopen / kill -9, and many threads claiming at once.
#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "cnai/core/error.hpp"
#include "cnai/server/job_store.hpp"
#include "support/service_process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    std::string p = "/tmp/cnai-store-XXXXXX";
    REQUIRE(mkdtemp(p.data()) != nullptr);
    path = p;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::vector<cnai::QueueEntry> entries(int n, int priority = 0) {
  std::vector<cnai::QueueEntry> out;
  for (int i = 1; i <= n; ++i) {
    cnai::QueueEntry e;
    e.custom_id = "req-" + std::to_string(i);
    e.line = i;
    e.body = "{\"custom_id\":\"req-" + std::to_string(i) + "\"}";
    e.priority = priority;
    out.push_back(e);
  }
  return out;
}

cnai::JobRecord job(std::string id, std::string status = "in_progress") {
  cnai::JobRecord j;
  j.id = std::move(id);
  j.kind = "batch";
  j.status = std::move(status);
  j.data = R"({"endpoint":"/v1/chat/completions"})";
  j.created_at = 1700000000;
  return j;
}

cnai::ResultLine result_for(const cnai::QueueEntry& e, bool error = false) {
  return {e.custom_id, e.line, error, "{\"custom_id\":\"" + e.custom_id + "\"}"};
}

// Every engine runs the same checks.
void check_files(cnai::JobStore& s) {
  s.put_file({"file-a", "in.jsonl", "batch", 0, 100}, "line1\nline2\n");
  s.put_file({"file-b", "out.jsonl", "batch_output", 0, 101}, std::string("\0bin", 4));
  auto a = s.get_file("file-a");
  REQUIRE(a);
  CHECK(a->filename == "in.jsonl");
  CHECK(a->purpose == "batch");
  CHECK(a->bytes == 12);
  CHECK(s.file_content("file-b") == std::string("\0bin", 4));
  auto all = s.list_files();
  REQUIRE(all.size() == 2);
  CHECK(all[0].id == "file-b");  // newest first
  CHECK(s.delete_file("file-a"));
  CHECK_FALSE(s.delete_file("file-a"));
  CHECK_FALSE(s.get_file("file-a"));
  CHECK_FALSE(s.file_content("file-a"));
}

void check_jobs_and_results(cnai::JobStore& s) {
  s.create_job(job("batch_1"), entries(3));
  auto j = s.get_job("batch_1");
  REQUIRE(j);
  CHECK(j->counts.total == 3);
  CHECK(j->status == "in_progress");
  CHECK(s.queue_stats().ready == 3);

  CHECK_FALSE(s.update_job("batch_1", "validating", "failed", "{}"));  // CAS: wrong expected status
  CHECK(s.update_job("batch_1", "in_progress", "cancelling", R"({"x":1})"));
  CHECK(s.get_job("batch_1")->status == "cancelling");
  CHECK(s.get_job("batch_1")->data == R"({"x":1})");

  std::vector<cnai::QueueEntry> got;
  for (int i = 0; i < 3; ++i) {
    auto e = s.claim("w1", 500ms);
    REQUIRE(e);
    CHECK(e->deliveries == 1);
    CHECK(e->job_id == "batch_1");
    got.push_back(*e);
  }
  CHECK_FALSE(s.claim("w1", 50ms));
  CHECK(s.queue_stats().pending == 3);
  std::set<std::string> ids;
  for (auto& e : got) ids.insert(e.custom_id);
  CHECK(ids == std::set<std::string>{"req-1", "req-2", "req-3"});

  auto o1 = s.complete(got[2], result_for(got[2], true));
  CHECK(o1.stored);
  CHECK(o1.counts.failed == 1);
  // A redelivered line's second result is dropped, not counted twice.
  auto dup = s.complete(got[2], result_for(got[2]));
  CHECK_FALSE(dup.stored);
  CHECK(dup.counts.completed == 0);
  s.complete(got[0], result_for(got[0]));
  auto last = s.complete(got[1], result_for(got[1]));
  CHECK(last.counts.completed == 2);
  CHECK(last.counts.failed == 1);
  CHECK(s.queue_stats().pending == 0);
  CHECK(s.queue_stats().ready == 0);

  auto rs = s.results("batch_1");
  REQUIRE(rs.size() == 3);
  CHECK(rs[0].line == 1);
  CHECK(rs[2].custom_id == "req-3");
  CHECK(rs[2].error);
  CHECK_FALSE(rs[0].error);

  // A line answered without running (cancel/expiry) needs no receipt.
  s.create_job(job("batch_2"), entries(1));
  cnai::QueueEntry no_receipt = entries(1)[0];
  no_receipt.job_id = "batch_2";
  CHECK(s.complete(no_receipt, result_for(no_receipt, true)).counts.failed == 1);
  auto e = s.claim("w1", 500ms);  // its queue entry is still there: acknowledged without a result
  REQUIRE(e);
  CHECK_FALSE(s.complete(*e, result_for(*e)).stored);
  CHECK(s.queue_stats().pending == 0);
  CHECK(s.list_jobs("batch", 10).size() == 2);
  CHECK(s.list_jobs("batch", 10)[0].id == "batch_2");
  CHECK(s.list_jobs("batch", 1).size() == 1);
  CHECK(s.list_jobs("response", 10).empty());
}

void check_lease_expiry(cnai::JobStore& s) {
  s.create_job(job("batch_lease"), entries(1));
  auto first = s.claim("dead-worker", 500ms);
  REQUIRE(first);
  CHECK_FALSE(s.claim("live-worker", 50ms));  // leased
  std::this_thread::sleep_for(450ms);         // lease is 300 ms here
  auto again = s.claim("live-worker", 500ms);
  REQUIRE(again);
  CHECK(again->custom_id == first->custom_id);
  CHECK(again->deliveries == 2);
  // touch() keeps a lease: the entry is not handed out while its worker lives.
  std::this_thread::sleep_for(200ms);
  s.touch(*again, "live-worker");
  std::this_thread::sleep_for(200ms);
  CHECK_FALSE(s.claim("third", 10ms));
  CHECK(s.complete(*again, result_for(*again)).stored);
}

void check_concurrent_claims(cnai::JobStore& s) {
  constexpr int kLines = 200;
  s.create_job(job("batch_many"), entries(kLines));
  std::mutex m;
  std::map<std::string, int> seen;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string me = "w" + std::to_string(t);
      while (auto e = s.claim(me, 100ms)) {
        if (s.complete(*e, result_for(*e)).stored) {
          std::lock_guard lock(m);
          ++seen[e->custom_id];
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(seen.size() == kLines);
  for (auto& [id, n] : seen) CHECK(n == 1);
  CHECK(s.get_job("batch_many")->counts.completed == kLines);
  CHECK(s.results("batch_many").size() == kLines);
}

void run_all(const std::function<std::unique_ptr<cnai::JobStore>()>& open) {
  SUBCASE("files") { check_files(*open()); }
  SUBCASE("jobs and results") { check_jobs_and_results(*open()); }
  SUBCASE("lease expiry") { check_lease_expiry(*open()); }
  SUBCASE("concurrent claims") { check_concurrent_claims(*open()); }
}

cnai::JobStoreOptions short_lease() {
  cnai::JobStoreOptions o;
  o.lease = 300ms;
  return o;
}

}  // namespace

TEST_CASE("SqliteJobStore") {
  TempDir dir;
  int n = 0;
  run_all([&] { return cnai::open_job_store("sqlite://" + dir.path + "/q" + std::to_string(n++) + ".db", short_lease()); });
}

TEST_CASE("RedisJobStore") {
  cnai::test::RedisProcess redis;
  int n = 0;
  run_all([&] {
    // A database per subcase keeps them apart.
    return cnai::open_job_store(redis.url() + "/" + std::to_string(n++ % 16), short_lease());
  });
}

TEST_CASE("SQLite store: a reopened file keeps jobs, queued and leased entries, and results") {
  TempDir dir;
  const std::string url = "sqlite://" + dir.path + "/durable.db";
  std::string first_id;
  {
    auto s = cnai::open_job_store(url, short_lease());
    s->create_job(job("batch_d"), entries(3));
    auto e = s->claim("w", 100ms);
    REQUIRE(e);
    s->complete(*e, result_for(*e));
    auto leased = s->claim("w", 100ms);  // claimed, never acknowledged: the process "dies"
    REQUIRE(leased);
    first_id = leased->custom_id;
  }
  auto s = cnai::open_job_store(url, short_lease());
  CHECK(s->get_job("batch_d")->counts.completed == 1);
  CHECK(s->results("batch_d").size() == 1);
  std::this_thread::sleep_for(350ms);
  std::set<std::string> rest;
  while (auto e = s->claim("w2", 50ms)) {
    rest.insert(e->custom_id);
    s->complete(*e, result_for(*e));
  }
  CHECK(rest.size() == 2);
  CHECK(rest.count(first_id) == 1);
  CHECK(s->get_job("batch_d")->counts.completed == 3);
}

TEST_CASE("Redis store: kill -9 of redis-server loses no acknowledged result or queued entry") {
  cnai::test::RedisProcess redis;
  {
    auto s = cnai::open_job_store(redis.url(), short_lease());
    s->create_job(job("batch_k"), entries(4));
    auto e = s->claim("w", 500ms);
    REQUIRE(e);
    s->complete(*e, result_for(*e));
  }
  redis.kill_hard();
  redis.restart();
  auto s = cnai::open_job_store(redis.url(), short_lease());
  CHECK(s->get_job("batch_k")->counts.completed == 1);
  CHECK(s->results("batch_k").size() == 1);
  int left = 0;
  while (auto e = s->claim("w2", 100ms)) {
    ++left;
    s->complete(*e, result_for(*e));
  }
  CHECK(left == 3);
  CHECK(s->get_job("batch_k")->counts.completed == 4);
}

TEST_CASE("open_job_store: bad URLs are invalid_argument, an unreachable Redis unavailable") {
  CHECK_THROWS_AS(cnai::open_job_store("mysql://x"), cnai::Error);
  try {
    cnai::open_job_store("redis://127.0.0.1:notaport");
    FAIL("no throw");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == cnai::ErrorCode::invalid_argument);
  }
  try {
    cnai::open_job_store("redis://127.0.0.1:" + std::to_string(cnai::test::free_port()));
    FAIL("no throw");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == cnai::ErrorCode::unavailable);
  }
}
