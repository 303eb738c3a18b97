// HttpServer over LocalEngine on the default model: a streamed generation
// whose client disconnects stops at once (the engine is idle again long
// before the generation could have finished), and the next request is served.
#include <doctest/doctest.h>

#include <thread>

#include "cnai/engine/local_engine.hpp"
#include "cnai/server/http_server.hpp"
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
  CHECK(cnai::test::status_of(next.read_http(30s)) == 200);
}
