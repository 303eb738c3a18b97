// HttpServer over LocalEngine on the default model: a streamed generation
// whose client disconnects stops at once (the engine is idle again long
// before the generation could have finished), and the next request is served;
// batch lines wait behind interactive requests at the engine.
#include <doctest/doctest.h>

#include <stdlib.h>
#include <boost/json.hpp>

#include <filesystem>
#include <thread>

#include "cnai/engine/local_engine.hpp"
#include "cnai/server/http_server.hpp"
#include "cnai/server/job_service.hpp"
#include "cnai/server/job_worker.hpp"
#include "server/http_test_client.hpp"
#include "support/default_model.hpp"

using namespace std::chrono_literals;

TEST_CASE("LocalEngine behind the server: a disconnect stops generation and frees the engine") {
  auto path = cnai::testing::default_model_or_skip();
  if (!path) return;
  cnai::LocalEngineOptions eo;
  eo.model.threads = 1;
  auto engine = cnai::LocalEngine::load(*path, eo);
  cnai::ServerOptions o;
  o.port = 0;
  cnai::HttpServer server(*engine, o);
  server.start();
  const std::string body =
      R"({"model":"m","messages":[{"role":"user","content":"Write a very long story."}],"max_tokens":2000,)"
      R"("stream":true,"temperature":1,"seed":3})";
  {
    cnai::test::RawClient c(server.port());
    c.send(cnai::test::http_request("POST", "/v1/chat/completions", body));
    const std::string first = c.read(120s, "\"content\"");  // sanitizer builds evaluate the prompt slowly
    REQUIRE(first.find("\"content\"") != std::string::npos);
    c.reset();
  }
  const auto t0 = std::chrono::steady_clock::now();
  while ((server.stats().in_flight > 0 || engine->health().running > 0) && std::chrono::steady_clock::now() - t0 < 5s) {
    std::this_thread::sleep_for(5ms);
  }
  const auto stopped_after = std::chrono::steady_clock::now() - t0;
  CHECK(server.stats().in_flight == 0);
  CHECK(engine->health().running == 0);
  // 2000 tokens take a minute or more here; a stop within seconds is the disconnect's doing.
  CHECK(stopped_after < 5s);
  cnai::test::RawClient next(server.port());
  next.send(cnai::test::http_request("POST", "/v1/chat/completions",
                                     R"({"model":"m","messages":[{"role":"user","content":"Hi"}],"max_tokens":4})"));
  CHECK(cnai::test::status_of(next.read_http(120s)) == 200);  // a ThreadSanitizer build on a loaded machine: tens of seconds
}

TEST_CASE("Batch lines run below interactive requests: an interactive request overtakes the lines waiting at the engine") {
  auto path = cnai::testing::default_model_or_skip();
  if (!path) return;
  cnai::LocalEngineOptions eo;
  eo.model.threads = 1;
  eo.max_sequences = 1;  // one sequence at a time: the waiting order is all that decides who goes next
  auto engine = cnai::LocalEngine::load(*path, eo);
  std::string dir = "/tmp/cnai-priority-XXXXXX";
  REQUIRE(mkdtemp(dir.data()) != nullptr);
  auto store = cnai::open_job_store("sqlite://" + dir + "/jobs.db");
  cnai::JobService jobs(*store);
  cnai::ServerOptions o;
  o.port = 0;
  cnai::HttpServer server(*engine, o, &jobs);
  server.start();
  std::string lines;
  for (int i = 0; i < 6; ++i) {
    lines += R"({"custom_id":"b)" + std::to_string(i) +
             R"(","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":)"
             R"("Count from one to fifty in words."}],"max_tokens":48,"temperature":0}})" "\n";
  }
  const std::string file_id(
      boost::json::parse(jobs.create_file("in.jsonl", "batch", lines)).at("id").as_string());
  const std::string batch_id(boost::json::parse(jobs.create_batch(R"({"input_file_id":")" + file_id +
                                                                  R"(","endpoint":"/v1/chat/completions","completion_window":"24h"})"))
                                 .at("id")
                                 .as_string());
  auto completed = [&] {
    return boost::json::parse(jobs.batch(batch_id)).at("request_counts").at("completed").as_int64();
  };
  {
    // Four workers hand four lines to the engine at once: one runs, three wait.
    std::vector<std::jthread> workers;
    for (int i = 0; i < 4; ++i) {
      workers.emplace_back([&, i](std::stop_token st) {
        cnai::JobWorker(jobs, cnai::endpoint_executor(*engine, o), {std::string("w").append(std::to_string(i)), 3, 50ms, 500ms}).run(st);
      });
    }
    // Two waiting suffice: in arrival order the interactive request would then wait for three lines.
    const auto until = std::chrono::steady_clock::now() + 300s;
    while (engine->health().queue_depth < 2 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    REQUIRE(engine->health().queue_depth >= 2);
    const std::int64_t done_before = completed();
    cnai::test::RawClient c(server.port());
    c.send(cnai::test::http_request("POST", "/v1/chat/completions",
                                    R"({"messages":[{"role":"user","content":"Hi"}],"max_tokens":4})"));
    CHECK(cnai::test::status_of(c.read_http(300s)) == 200);
    // In arrival order it would have waited for the queued lines (48 tokens each) and the running one;
    // at priority it runs next: at most the line running when it came in has finished since.
    CHECK(completed() - done_before <= 1);
    while (completed() < 6 && std::chrono::steady_clock::now() < until + 600s) std::this_thread::sleep_for(20ms);
    CHECK(completed() == 6);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
