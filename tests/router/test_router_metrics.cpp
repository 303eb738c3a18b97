// What the router reports after a known sequence of calls over two loopback
// clouds: each RouteRecord the observer receives (deployment, outcome, tokens,
// cost, attempts), and the Prometheus text parsed line by line — per
// deployment counters and histograms, errors by class, fallbacks by cause,
// breaker state, per-alias outcomes.
#include <doctest/doctest.h>

#include <mutex>

#include "cnai/router/router.hpp"
#include "fake_cloud.hpp"
#include "prometheus_text.hpp"

using namespace cnai;
using namespace std::chrono_literals;
using cnai::test::FakeCloud;
using cnai::test::TestRequest;
using cnai::test::TestResponse;

namespace {

ChatRequest ask(bool stream = false) {
  ChatRequest r;
  r.model = "chat";
  r.messages.push_back(Message::user("Say hello"));
  r.max_tokens = 16;
  r.stream = stream;
  return r;
}

// A stream whose last chunk reports usage (5 in, 4 out).
TestResponse stream_with_usage() {
  auto chunks = cnai::test::stream_chunks({"str", "eamed"}, false);
  chunks.push_back(cnai::test::sse_event(cnai::test::chunk_json("{}", "\"stop\"")));
  chunks.push_back(cnai::test::sse_event(
      R"({"id":"c1","object":"chat.completion.chunk","model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":4,"total_tokens":9}})"));
  chunks.push_back("data: [DONE]\n\n");
  return TestResponse::sse(chunks);
}

Deployment deployment(const std::string& name, FakeCloud& cloud, double in, double out) {
  Deployment d;
  d.name = name;
  d.backend = cloud.client(name);
  d.model = "m-" + name;
  d.price = ModelPrice{in, out, -1};
  d.breaker.minimum_calls = 2;
  d.breaker.window_calls = 4;
  d.breaker.failure_rate = 0.5;
  return d;
}

}  // namespace

TEST_CASE("the observer and the Prometheus text after a known sequence of calls") {
  FakeCloud a("from a"), b("from b");
  RouterSpec s;
  s.deployments.push_back(deployment("a", a, 10, 20));
  s.deployments.push_back(deployment("b", b, 1, 2));
  AliasSpec chat;
  chat.name = "chat";
  chat.group.members = {{.deployment = "a"}, {.deployment = "b"}};
  s.aliases.push_back(chat);
  std::mutex m;
  std::vector<RouteRecord> records;
  s.observer = [&](const RouteRecord& r) {
    std::lock_guard lock(m);
    records.push_back(r);
  };
  auto router = Router::create(s);
  std::vector<double> overheads;

  // 1. a answers (3 in, 2 out).
  overheads.push_back(router->chat(ask()).route->router_overhead_us);
  // 2. a streams (5 in, 4 out).
  a.set([](const TestRequest&) { return stream_with_usage(); });
  std::string streamed;
  overheads.push_back(router->chat_stream(ask(true), [&](const ChatChunk& c) {
                        streamed += c.delta_content;
                        return true;
                      }).route->router_overhead_us);
  CHECK(streamed == "streamed");
  // 3. a fails with a 500, b answers.
  a.fail_with(500, "alpha broke");
  overheads.push_back(router->chat(ask()).route->router_overhead_us);
  // 4. a is rate limited with a long Retry-After (its breaker opens), b answers.
  a.fail_with(429, "slow down", {{"retry-after-ms", "60000"}});
  overheads.push_back(router->chat(ask()).route->router_overhead_us);
  // 5. a cools down (skipped); b rejects the request (400): it stops there.
  b.fail_with(400, "bad request");
  CHECK_THROWS_AS(router->chat(ask()), RoutingError);
  // 6. b is unavailable (503) and a still cools down: nothing can serve.
  b.fail_with(503, "b down");
  CHECK_THROWS_AS(router->chat(ask()), RoutingError);
  CHECK(a.calls() == 4);
  CHECK(b.calls() == 4);

  SUBCASE("the observer: one record per request, with what served it and what it cost") {
    REQUIRE(records.size() == 6);
    const RouteRecord& r1 = records[0];
    CHECK(r1.alias == "chat");
    CHECK(r1.deployment == "a");
    CHECK(r1.error_code.empty());
    CHECK_FALSE(r1.stream);
    CHECK_FALSE(r1.cache_hit);
    CHECK(r1.prompt_tokens == 3);
    CHECK(r1.completion_tokens == 2);
    CHECK(r1.cost_usd == doctest::Approx((3 * 10 + 2 * 20) / 1e6));
    REQUIRE(r1.attempts.size() == 1);
    CHECK(r1.attempts[0].deployment == "a");
    CHECK(r1.attempts[0].error_code.empty());
    CHECK(r1.duration_ms > 0);
    CHECK(r1.router_overhead_us == overheads[0]);

    const RouteRecord& r2 = records[1];
    CHECK(r2.deployment == "a");
    CHECK(r2.stream);
    CHECK(r2.prompt_tokens == 5);
    CHECK(r2.completion_tokens == 4);
    CHECK(r2.cost_usd == doctest::Approx((5 * 10 + 4 * 20) / 1e6));
    CHECK(r2.time_to_first_token_ms > 0);
    CHECK(r2.time_to_first_token_ms <= r2.duration_ms);

    const RouteRecord& r3 = records[2];
    CHECK(r3.deployment == "b");
    CHECK(r3.cost_usd == doctest::Approx((3 * 1 + 2 * 2) / 1e6));
    REQUIRE(r3.attempts.size() == 2);
    CHECK(r3.attempts[0].deployment == "a");
    CHECK(r3.attempts[0].error_code == "upstream");
    CHECK(r3.attempts[0].upstream_status == 500);
    CHECK(r3.attempts[0].error.find("alpha broke") != std::string::npos);
    CHECK(r3.attempts[1].deployment == "b");

    const RouteRecord& r4 = records[3];
    CHECK(r4.deployment == "b");
    REQUIRE(r4.attempts.size() == 2);
    CHECK(r4.attempts[0].error_code == "rate_limited");
    CHECK(r4.attempts[0].upstream_status == 429);

    const RouteRecord& r5 = records[4];
    CHECK(r5.deployment.empty());
    CHECK(r5.error_code == "invalid_argument");
    REQUIRE(r5.attempts.size() == 1);  // a was cooling down: not tried
    CHECK(r5.attempts[0].deployment == "b");
    CHECK(r5.attempts[0].upstream_status == 400);
    CHECK(r5.cost_usd == 0);

    const RouteRecord& r6 = records[5];
    CHECK(r6.error_code == "unavailable");
    REQUIRE(r6.attempts.size() == 1);
    CHECK(r6.attempts[0].deployment == "b");
    CHECK(r6.attempts[0].upstream_status == 503);
    for (const RouteRecord& r : records) CHECK(r.router_overhead_us >= 0);
  }

  SUBCASE("the Prometheus text: every line well-formed, the counters and histograms of the sequence") {
    const auto p = cnai::test::parse_prometheus(router->metrics_text());
    for (const auto& problem : p.problems) MESSAGE(problem);
    CHECK(p.problems.empty());
    CHECK(p.types.at("cnai_router_requests_total") == "counter");
    CHECK(p.types.at("cnai_router_breaker_state") == "gauge");
    CHECK(p.types.at("gen_ai_client_operation_duration_seconds") == "histogram");
    using L = std::map<std::string, std::string>;
    const L da{{"cnai_deployment", "a"}}, db{{"cnai_deployment", "b"}};
    auto with = [](L l, const std::string& k, const std::string& v) {
      l[k] = v;
      return l;
    };
    // Attempts, errors by class, fallbacks by cause.
    CHECK(p.value("cnai_router_requests_total", da) == 4);
    CHECK(p.value("cnai_router_requests_total", db) == 4);
    CHECK(p.value("cnai_router_errors_total", with(da, "error_type", "upstream")) == 1);
    CHECK(p.value("cnai_router_errors_total", with(da, "error_type", "rate_limited")) == 1);
    CHECK(p.value("cnai_router_errors_total", da) == 2);
    CHECK(p.value("cnai_router_errors_total", with(db, "error_type", "invalid_argument")) == 1);
    CHECK(p.value("cnai_router_errors_total", with(db, "error_type", "unavailable")) == 1);
    CHECK(p.value("cnai_router_errors_total", db) == 2);
    CHECK(p.value("cnai_router_fallbacks_total", with(da, "cause", "upstream")) == 1);
    CHECK(p.value("cnai_router_fallbacks_total", with(da, "cause", "rate_limited")) == 1);
    CHECK(p.count("cnai_router_fallbacks_total", with(db, "cause", "invalid_argument")) == 0);  // it stopped there
    CHECK(p.value("cnai_router_fallbacks_total", with(db, "cause", "unavailable")) == 1);
    CHECK(p.value("cnai_router_skipped_total", da) == 2);  // calls 5 and 6
    // Breakers: a opened by its Retry-After, b still closed (one failure in four calls).
    CHECK(p.value("cnai_router_breaker_state", da) == 2);
    CHECK(p.value("cnai_router_breaker_state", db) == 0);
    CHECK(p.value("cnai_router_in_flight", da) == 0);
    // Tokens and cost.
    CHECK(p.value("cnai_router_tokens_total", with(da, "gen_ai_token_type", "input")) == 8);
    CHECK(p.value("cnai_router_tokens_total", with(da, "gen_ai_token_type", "output")) == 6);
    CHECK(p.value("cnai_router_tokens_total", with(db, "gen_ai_token_type", "input")) == 6);
    CHECK(p.value("cnai_router_tokens_total", with(db, "gen_ai_token_type", "output")) == 4);
    CHECK(p.value("cnai_router_cost_usd_total", da) == doctest::Approx(200e-6));
    CHECK(p.value("cnai_router_cost_usd_total", db) == doctest::Approx(14e-6));
    // The OpenTelemetry GenAI histograms, with their attributes.
    const L ga{{"cnai_deployment", "a"}, {"gen_ai_provider_name", "openai"}, {"gen_ai_request_model", "m-a"},
               {"gen_ai_operation_name", "chat"}};
    CHECK(p.value("gen_ai_client_token_usage_count", with(ga, "gen_ai_token_type", "input")) == 2);
    CHECK(p.value("gen_ai_client_token_usage_sum", with(ga, "gen_ai_token_type", "input")) == 8);
    CHECK(p.value("gen_ai_client_token_usage_sum", with(ga, "gen_ai_token_type", "output")) == 6);
    CHECK(p.value("gen_ai_client_operation_duration_seconds_count", with(da, "error_type", "error")) == 2);
    CHECK(p.value("gen_ai_client_operation_duration_seconds_count", db) == 4);  // 2 served + 2 failed
    CHECK(p.value("gen_ai_server_time_to_first_token_seconds_count", da) == 1);  // the one stream
    CHECK(p.value("gen_ai_server_time_to_first_token_seconds_count", db) == 0);
    // Histogram buckets: cumulative, the +Inf bucket equals the count.
    for (const auto& dep : {"a", "b"}) {
      const L l = with(ga, "cnai_deployment", dep);
      double last = 0;
      for (const auto& smp : p.samples) {
        if (smp.name != "gen_ai_client_token_usage_bucket" || smp.labels.at("cnai_deployment") != dep ||
            smp.labels.at("gen_ai_token_type") != "input")
          continue;
        CHECK(smp.value >= last);
        last = smp.value;
        if (smp.labels.at("le") == "+Inf")
          CHECK(smp.value == p.value("gen_ai_client_token_usage_count", with(L{{"cnai_deployment", dep}}, "gen_ai_token_type", "input")));
      }
      CHECK(last > 0);
    }
    // Requests per alias by outcome, and the router's own overhead per served request.
    const L chat_alias{{"alias", "chat"}};
    CHECK(p.value("cnai_router_alias_requests_total", with(chat_alias, "outcome", "served")) == 4);
    CHECK(p.value("cnai_router_alias_requests_total", with(chat_alias, "outcome", "invalid_argument")) == 1);
    CHECK(p.value("cnai_router_alias_requests_total", with(chat_alias, "outcome", "unavailable")) == 1);
    CHECK(p.value("cnai_router_alias_requests_total", chat_alias) == 6);
    CHECK(p.value("cnai_router_overhead_seconds_count") == 4);
    double sum_us = 0;
    for (double o : overheads) sum_us += o;
    CHECK(p.value("cnai_router_overhead_seconds_sum") == doctest::Approx(sum_us / 1e6).epsilon(1e-6));
  }
}
