// JobService + JobWorker over both stores: batches from upload to output
// and error files (the documented line formats, request_counts, states),
// validation failures, busy backends retried, poison entries, cancel,
// expiry of the completion window, a crash mid-finalisation, background
// responses. The executor is a small deterministic endpoint written here
// (the HTTP server's real one is tested with the server).
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <boost/json.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "cnai/core/error.hpp"
#include "cnai/server/job_service.hpp"
#include "cnai/server/job_worker.hpp"
#include "support/service_process.hpp"

namespace bj = boost::json;
using namespace std::chrono_literals;

namespace {

std::string S(const bj::value& v) { return v.is_string() ? std::string(v.as_string()) : bj::serialize(v); }

std::string batch_file(int n, std::string url = "/v1/chat/completions") {
  std::string s;
  for (int i = 1; i <= n; ++i) {
    s += R"({"custom_id":"r)" + std::to_string(i) + R"(","method":"POST","url":")" + url +
         R"(","body":{"model":"m","messages":[{"role":"user","content":"n)" + std::to_string(i) + R"("}]}})" + "\n";
  }
  return s;
}

// Answers {"echo": <the body's last message>}; "n13" gets a 400; counts calls.
struct EchoEndpoint {
  std::atomic<int> calls{0};
  std::atomic<int> busy_left{0};  // answer 503 this many times first
  std::chrono::milliseconds delay{0};
  cnai::EndpointResult operator()(const cnai::EndpointCall& call, std::stop_token stop) {
    ++calls;
    const auto until = std::chrono::steady_clock::now() + delay;
    while (std::chrono::steady_clock::now() < until && !stop.stop_requested()) std::this_thread::sleep_for(5ms);
    if (stop.stop_requested()) return {499, R"({"error":{"message":"cancelled"}})"};
    if (busy_left.fetch_sub(1) > 0) return {503, R"({"error":{"message":"busy"}})"};
    bj::value body = bj::parse(call.body);
    const std::string text(body.at("messages").as_array().back().at("content").as_string());
    if (text == "n13") return {400, R"({"error":{"message":"bad request","type":"invalid_request_error"}})"};
    return {200, bj::serialize(bj::object{{"echo", text}, {"url", call.url}, {"priority", call.priority}})};
  }
};

struct Harness {
  std::unique_ptr<cnai::JobStore> store;
  std::atomic<std::int64_t> clock{1700000000};
  cnai::JobService service;
  EchoEndpoint endpoint;
  Harness(std::unique_ptr<cnai::JobStore> s)
      : store(std::move(s)), service(*store, options()) {}
  cnai::JobServiceOptions options() {
    cnai::JobServiceOptions o;
    o.now = [this] { return clock.load(); };
    return o;
  }
  cnai::EndpointExecutor executor() {
    return [this](const cnai::EndpointCall& c, std::stop_token st) { return endpoint(c, st); };
  }
  std::string upload(const std::string& content) {
    return std::string(bj::parse(service.create_file("in.jsonl", "batch", content)).at("id").as_string());
  }
  bj::object create(const std::string& file_id, std::string window = "24h") {
    return bj::parse(service.create_batch(R"({"input_file_id":")" + file_id +
                                          R"(","endpoint":"/v1/chat/completions","completion_window":")" + window +
                                          R"(","metadata":{"k":"v"}})"))
        .as_object();
  }
  bj::object get(const std::string& id) { return bj::parse(service.batch(id)).as_object(); }
  void work_until_idle(int workers = 1) {
    std::vector<std::jthread> threads;
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([this, w] {
        cnai::JobWorkerOptions o;
        o.consumer = std::string("w").append(std::to_string(w));
        o.claim_wait = 100ms;
        cnai::JobWorker worker(service, executor(), o);
        while (worker.run_once()) {
        }
      });
    }
  }
  std::vector<bj::object> lines_of(const bj::value& file_id) {
    std::vector<bj::object> out;
    if (file_id.is_null()) return out;
    const std::string content = service.file_content(std::string(file_id.as_string()));
    std::size_t pos = 0;
    while (pos < content.size()) {
      const auto nl = content.find('\n', pos);
      out.push_back(bj::parse(content.substr(pos, nl - pos)).as_object());
      pos = nl + 1;
    }
    return out;
  }
};

std::string sqlite_url() {
  static int n = 0;
  static const std::string dir = [] {
    std::string p = "/tmp/cnai-jobs-XXXXXX";
    REQUIRE(mkdtemp(p.data()) != nullptr);
    return p;
  }();
  return "sqlite://" + dir + "/jobs" + std::to_string(n++) + ".db";
}

cnai::JobStoreOptions lease(std::chrono::milliseconds l) {
  cnai::JobStoreOptions o;
  o.lease = l;
  return o;
}

void check_batch_end_to_end(Harness& h) {
  const std::string file_id = h.upload(batch_file(20));
  bj::object b = h.create(file_id);
  CHECK(b["status"] == "in_progress");
  CHECK(b["object"] == "batch");
  CHECK(b["request_counts"].at("total") == 20);
  CHECK(b["expires_at"].as_int64() == b["created_at"].as_int64() + 86400);
  CHECK(b["metadata"].at("k") == "v");
  const std::string id(b["id"].as_string());
  h.endpoint.busy_left = 2;  // the first calls meet a busy backend and are retried
  h.work_until_idle(2);
  b = h.get(id);
  CHECK(b["status"] == "completed");
  CHECK(b["request_counts"].at("completed") == 19);
  CHECK(b["request_counts"].at("failed") == 1);
  CHECK(b["finalizing_at"].is_int64());
  CHECK(b["completed_at"].is_int64());
  auto out = h.lines_of(b["output_file_id"]);
  auto err = h.lines_of(b["error_file_id"]);
  REQUIRE(out.size() == 19);
  REQUIRE(err.size() == 1);
  // Output lines in input order, each with its request's own answer.
  int expect = 1;
  for (auto& line : out) {
    if (expect == 13) ++expect;
    CHECK(S(line["custom_id"]) == fmt::format("r{}", expect));
    CHECK(line["error"].is_null());
    CHECK(line["response"].at("status_code") == 200);
    CHECK(S(line["response"].at("body").at("echo")) == fmt::format("n{}", expect));
    CHECK(line["response"].at("body").at("priority") == -10);  // batch work runs at low priority
    CHECK(std::string(line["id"].as_string()).starts_with("batch_req_"));
    ++expect;
  }
  CHECK(err[0]["custom_id"] == "r13");
  CHECK(err[0]["response"].at("status_code") == 400);
  CHECK(err[0]["response"].at("body").at("error").at("message") == "bad request");
  auto of = bj::parse(h.service.file(std::string(b["output_file_id"].as_string())));
  CHECK(of.at("purpose") == "batch_output");
  CHECK(h.endpoint.calls == 22);
}

}  // namespace

TEST_CASE("Batch end to end on SQLite and on Redis") {
  SUBCASE("sqlite") {
    Harness h(cnai::open_job_store(sqlite_url()));
    check_batch_end_to_end(h);
  }
  SUBCASE("redis") {
    cnai::test::RedisProcess redis;
    Harness h(cnai::open_job_store(redis.url()));
    check_batch_end_to_end(h);
  }
}

TEST_CASE("Batch validation: a bad file fails the batch with errors naming the line and field") {
  Harness h(cnai::open_job_store(sqlite_url()));
  std::string content = batch_file(2);
  content += "not json\n";
  content += R"({"custom_id":"r1","method":"POST","url":"/v1/chat/completions","body":{}})" "\n";
  content += R"({"custom_id":"x","method":"GET","url":"/v1/chat/completions","body":{}})" "\n";
  content += R"({"custom_id":"y","method":"POST","url":"/v1/embeddings","body":{}})" "\n";
  content += R"({"method":"POST","url":"/v1/chat/completions","body":{}})" "\n";
  bj::object b = h.create(h.upload(content));
  CHECK(b["status"] == "failed");
  CHECK(b["failed_at"].is_int64());
  const bj::array& errs = b["errors"].at("data").as_array();
  REQUIRE(errs.size() == 5);
  CHECK(errs[0].at("code") == "invalid_json_line");
  CHECK(errs[0].at("line") == 3);
  CHECK(errs[1].at("code") == "duplicate_custom_id");
  CHECK(errs[2].at("param") == "method");
  CHECK(errs[3].at("code") == "mismatched_endpoint");
  CHECK(errs[4].at("param") == "custom_id");
  CHECK(h.store->queue_stats().ready == 0);

  auto code_of = [&](const std::string& body) {
    try {
      h.service.create_batch(body);
    } catch (const cnai::Error& e) {
      return std::pair(e.code(), std::string(e.what()));
    }
    return std::pair(cnai::ErrorCode::internal, std::string());
  };
  auto [c1, m1] = code_of(R"({"endpoint":"/v1/chat/completions","completion_window":"24h"})");
  CHECK(c1 == cnai::ErrorCode::invalid_argument);
  CHECK(m1.find("input_file_id") != std::string::npos);
  auto [c2, m2] = code_of(R"({"input_file_id":"file-nope","endpoint":"/v1/chat/completions","completion_window":"24h"})");
  CHECK(c2 == cnai::ErrorCode::not_found);
  auto [c3, m3] = code_of(R"({"input_file_id":"f","endpoint":"/v1/images","completion_window":"24h"})");
  CHECK(m3.find("endpoint") != std::string::npos);
  auto [c4, m4] = code_of(R"({"input_file_id":"f","endpoint":"/v1/embeddings","completion_window":"forever"})");
  CHECK(m4.find("completion_window") != std::string::npos);
  CHECK(code_of("[1]").first == cnai::ErrorCode::invalid_argument);
}

TEST_CASE("Poison entry: a line its workers die on is answered with an error after max deliveries") {
  cnai::test::RedisProcess redis;
  Harness h(cnai::open_job_store(redis.url(), lease(150ms)));
  bj::object b = h.create(h.upload(batch_file(1)));
  // Three workers claim it and die without answering.
  for (int i = 0; i < 3; ++i) {
    auto e = h.store->claim("doomed" + std::to_string(i), 500ms);
    REQUIRE(e);
    CHECK(e->deliveries == i + 1);
    std::this_thread::sleep_for(200ms);
  }
  h.work_until_idle();
  b = h.get(std::string(b["id"].as_string()));
  CHECK(b["status"] == "completed");
  CHECK(b["request_counts"].at("failed") == 1);
  auto err = h.lines_of(b["error_file_id"]);
  REQUIRE(err.size() == 1);
  CHECK(err[0]["error"].at("code") == "max_deliveries_exceeded");
  CHECK(err[0]["response"].is_null());
  CHECK(h.endpoint.calls == 0);
}

TEST_CASE("Cancel: every line has exactly one result, the batch ends cancelled") {
  Harness h(cnai::open_job_store(sqlite_url()));
  h.endpoint.delay = 50ms;
  bj::object b = h.create(h.upload(batch_file(30)));
  const std::string id(b["id"].as_string());
  std::jthread worker([&](std::stop_token st) {
    cnai::JobWorker w(h.service, h.executor(), {"w", 3, 50ms, 1000ms});
    w.run(st);
  });
  std::this_thread::sleep_for(200ms);
  b = bj::parse(h.service.cancel_batch(id)).as_object();
  CHECK(b["status"] == "cancelled");
  CHECK(b["cancelling_at"].is_int64());
  CHECK(b["cancelled_at"].is_int64());
  // The worker drains the queued entries of the cancelled batch.
  for (int i = 0; i < 500 && h.store->queue_stats().ready + h.store->queue_stats().pending > 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  worker.request_stop();
  worker.join();
  auto out = h.lines_of(b["output_file_id"]);
  auto err = h.lines_of(b["error_file_id"]);
  CHECK(out.size() + err.size() == 30);
  CHECK(out.size() >= 1);
  std::set<std::string> ids;
  for (auto& l : out) ids.insert(std::string(l["custom_id"].as_string()));
  for (auto& l : err) {
    ids.insert(std::string(l["custom_id"].as_string()));
    CHECK(l["error"].at("code") == "batch_cancelled");
  }
  CHECK(ids.size() == 30);
  CHECK(h.store->queue_stats().ready + h.store->queue_stats().pending == 0);
  CHECK(h.endpoint.calls < 30);
  CHECK_THROWS_AS(h.service.cancel_batch("batch_nope"), cnai::Error);
}

TEST_CASE("Completion window: an expired batch answers its unrun lines with batch_expired") {
  Harness h(cnai::open_job_store(sqlite_url()));
  bj::object b = h.create(h.upload(batch_file(5)), "1h");
  const std::string id(b["id"].as_string());
  cnai::JobWorker w(h.service, h.executor(), {"w", 3, 50ms, 0ms});
  CHECK(w.run_once());
  CHECK(w.run_once());
  h.clock += 3600;
  h.service.sweep();
  b = h.get(id);
  CHECK(b["status"] == "expired");
  CHECK(b["expired_at"].is_int64());
  CHECK(h.lines_of(b["output_file_id"]).size() == 2);
  auto err = h.lines_of(b["error_file_id"]);
  REQUIRE(err.size() == 3);
  for (auto& l : err) CHECK(l["error"].at("code") == "batch_expired");
  while (w.run_once()) {
  }
  CHECK(h.endpoint.calls == 2);  // the rest were dropped, not run
  CHECK(h.get(id)["status"] == "expired");
}

TEST_CASE("A crash between finalizing and completed is finished by the next sweep") {
  Harness h(cnai::open_job_store(sqlite_url()));
  bj::object b = h.create(h.upload(batch_file(3)));
  const std::string id(b["id"].as_string());
  for (int i = 0; i < 3; ++i) {
    auto e = h.store->claim("w", 100ms);
    REQUIRE(e);
    h.store->complete(*e, {e->custom_id, e->line, false, R"({"x":1})"});  // results stored; no finalisation ran
  }
  CHECK(h.get(id)["status"] == "in_progress");
  auto job = h.store->get_job(id);
  REQUIRE(h.store->update_job(id, "in_progress", "finalizing", job->data));  // the crash happened here
  h.service.sweep();
  b = h.get(id);
  CHECK(b["status"] == "completed");
  CHECK(h.lines_of(b["output_file_id"]).size() == 3);
}

TEST_CASE("Background responses: queued, run, polled; cancelled before running") {
  Harness h(cnai::open_job_store(sqlite_url()));
  bj::object r = bj::parse(h.service.create_background_response(
                               R"({"model":"m","input":"hi","background":true,"messages":[{"content":"n1"}]})"))
                     .as_object();
  CHECK(r["status"] == "queued");
  CHECK(r["background"] == true);
  const std::string id(r["id"].as_string());
  bj::object r2 = bj::parse(h.service.create_background_response(R"({"model":"m","messages":[{"content":"n2"}]})"))
                      .as_object();
  const std::string id2(r2["id"].as_string());
  CHECK(bj::parse(h.service.cancel_response(id2)).at("status") == "cancelled");
  h.work_until_idle();
  bj::value done = bj::parse(h.service.response(id));
  CHECK(done.at("status") == "completed");
  CHECK(S(done.at("id")) == id);
  CHECK(done.at("echo") == "n1");
  CHECK(done.at("url") == "/v1/responses");
  CHECK(bj::parse(h.service.response(id2)).at("status") == "cancelled");
  CHECK(h.endpoint.calls == 1);
  CHECK_THROWS_AS(h.service.cancel_response(id), cnai::Error);  // completed: nothing to cancel
  CHECK_THROWS_AS(h.service.response("resp_nope"), cnai::Error);
}

TEST_CASE("Files API: purposes, limits, list and delete") {
  Harness h(cnai::open_job_store(sqlite_url()));
  auto f = bj::parse(h.service.create_file("a.jsonl", "batch", "x\n"));
  CHECK(f.at("object") == "file");
  CHECK(f.at("bytes") == 2);
  CHECK_THROWS_AS(h.service.create_file("a", "nonsense", "x"), cnai::Error);
  h.service.create_file("b.txt", "user_data", "y");
  CHECK(bj::parse(h.service.list_files()).at("data").as_array().size() == 2);
  CHECK(bj::parse(h.service.list_files("batch")).at("data").as_array().size() == 1);
  const std::string id(f.at("id").as_string());
  CHECK(bj::parse(h.service.delete_file(id)).at("deleted") == true);
  CHECK_THROWS_AS(h.service.file(id), cnai::Error);
}
