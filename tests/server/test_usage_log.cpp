// PostgresUsageLog against a real PostgreSQL started by the test (initdb in
// a temporary directory): records written in batches with the right values,
// and the server logging one record per inference request with its key.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <libpq-fe.h>

#include <thread>

#include "cnai/clients/openai_client.hpp"
#include "cnai/core/error.hpp"
#include "cnai/server/http_server.hpp"
#include "cnai/server/usage_log.hpp"
#include "server/http_test_client.hpp"
#include "support/service_process.hpp"
#include "support/test_http_server.hpp"

using namespace std::chrono_literals;

namespace {

std::string query_one(const std::string& conninfo, const std::string& sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  REQUIRE(PQstatus(c) == CONNECTION_OK);
  PGresult* r = PQexec(c, sql.c_str());
  REQUIRE_MESSAGE(PQresultStatus(r) == PGRES_TUPLES_OK, PQerrorMessage(c));
  std::string v = PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
  PQclear(r);
  PQfinish(c);
  return v;
}

}  // namespace

TEST_CASE("PostgresUsageLog writes every record, and the server logs inference requests by key") {
  cnai::test::PostgresProcess pg;
  SUBCASE("records") {
    cnai::PostgresUsageLog log({pg.conninfo(), "usage_a"});
    for (int i = 0; i < 1200; ++i) {
      cnai::UsageRecord r;
      r.at_ms = 1700000000000 + i;
      r.api_key = i % 2 ? "team-a" : "team-b";
      r.user = "u'; DROP TABLE usage_a; --";  // parameters, never spliced SQL
      r.route = "/v1/chat/completions";
      r.model = "model-m";
      r.backend = "local";
      r.prompt_tokens = 10;
      r.completion_tokens = i;
      r.cost_usd = 0.001;
      r.latency_ms = 5;
      log.record(r);
    }
    log.flush();
    CHECK(log.written() == 1200);
    CHECK(log.dropped() == 0);
    CHECK(query_one(pg.conninfo(), "SELECT count(*) FROM usage_a") == "1200");
    CHECK(query_one(pg.conninfo(), "SELECT sum(completion_tokens) FROM usage_a") == fmt::format("{}", 1199 * 1200 / 2));
    CHECK(query_one(pg.conninfo(), "SELECT count(*) FROM usage_a WHERE api_key = 'team-a'") == "600");
    CHECK(query_one(pg.conninfo(), "SELECT user_id FROM usage_a LIMIT 1") == "u'; DROP TABLE usage_a; --");
    CHECK_THROWS_AS(cnai::PostgresUsageLog({pg.conninfo(), "bad name"}), cnai::Error);
  }
  SUBCASE("from the server") {
    cnai::test::TestHttpServer upstream;
    upstream.route("POST", "/v1/chat/completions", [](const cnai::test::TestRequest&) {
      return cnai::test::TestResponse::json(
          R"({"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":)"
          R"({"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}})");
    });
    cnai::OpenAiOptions uo;
    uo.base_url = upstream.base_url() + "/v1";
    uo.api_key = "k";
    cnai::OpenAiClient backend(uo);
    auto log = std::make_shared<cnai::PostgresUsageLog>(cnai::PostgresUsageOptions{pg.conninfo(), "usage_b"});
    cnai::ServerOptions o;
    o.port = 0;
    o.usage = log;
    o.api_keys = {{"team-x", cnai::sha256_hex("sk-x"), 0}};
    cnai::HttpServer server(backend, o);
    server.start();
    for (int i = 0; i < 3; ++i) {
      cnai::test::RawClient c(server.port());
      c.send(cnai::test::http_request("POST", "/v1/responses", R"({"model":"m","input":"hi","user":"alice"})",
                                      "Authorization: Bearer sk-x\r\n"));
      CHECK(cnai::test::status_of(c.read_response()) == 200);
    }
    {
      cnai::test::RawClient c(server.port());  // not inference: no record
      c.send(cnai::test::http_request("GET", "/v1/models", {}, "Authorization: Bearer sk-x\r\n"));
      CHECK(cnai::test::status_of(c.read_response()) == 200);
    }
    log->flush();
    CHECK(query_one(pg.conninfo(), "SELECT count(*) FROM usage_b") == "3");
    CHECK(query_one(pg.conninfo(), "SELECT DISTINCT api_key || ',' || user_id || ',' || route || ',' || status || ',' || "
                                   "prompt_tokens || ',' || completion_tokens FROM usage_b") ==
          "team-x,alice,/v1/responses,200,3,4");
  }
}
