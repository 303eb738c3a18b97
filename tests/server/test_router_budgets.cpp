// Budgets through the router behind the server: per API key (the key's name
// is the router's tag, metadata api_key), refused with OpenAI's quota error
// shape; RedisSpendStore; and one budget shared by two servers through one
// Redis, never overspent together.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <thread>

#include "cnai/server/redis_spend_store.hpp"
#include "server/redis_connection.hpp"
#include "server/router_fixture.hpp"
#include "support/service_process.hpp"

namespace bj = boost::json;
using namespace cnai::test;
using namespace std::chrono_literals;

TEST_CASE("Per-key budgets through the router: one key crosses its budget (429 budget_exceeded), the other is unaffected") {
  Upstream up;  // every answer: 2 completion tokens
  // $0.5 per output token and none for input: a call of max_tokens 2 is
  // estimated, and booked, at exactly $1; each key has $3 a day.
  const std::string yaml = "deployments:\n" +
                           deployment_yaml("cloud", up, "    price: {input: 0, output: 500000}\n") +
                           "aliases:\n  chat: {targets: [cloud]}\n"
                           "budgets:\n  - {name: per-key, scope: tag, key: api_key, limit: 3, period: day, action: refuse}\n";
  ServedRouter s(yaml, nullptr,
                 {{"alice", cnai::sha256_hex("sk-alice")}, {"bob", cnai::sha256_hex("sk-bob")}});
  auto as = [&](const char* key) {
    return s.call("POST", "/v1/chat/completions", kHi, fmt::format("Authorization: Bearer {}\r\n", key));
  };
  for (int i = 0; i < 3; ++i) REQUIRE(cnai::test::status_of(as("sk-alice")) == 200);
  const std::string refused = as("sk-alice");
  REQUIRE_MESSAGE(cnai::test::status_of(refused) == 429, refused);
  CHECK(refused.find("x-should-retry: false") != std::string::npos);
  const bj::value err = bj::parse(cnai::test::body_of(refused)).at("error");
  CHECK(err.at("code") == "budget_exceeded");
  CHECK(err.at("type") == "insufficient_quota");
  const std::string message(err.at("message").as_string());
  CHECK(message.find("budget 'per-key'") != std::string::npos);
  CHECK(message.find("'alice'") != std::string::npos);
  CHECK(up.calls == 3);  // refused before any upstream call

  for (int i = 0; i < 3; ++i) CHECK(cnai::test::status_of(as("sk-bob")) == 200);
  CHECK(cnai::test::status_of(as("sk-bob")) == 429);
  CHECK(cnai::test::status_of(as("sk-alice")) == 429);
  CHECK(up.calls == 6);
  // A client cannot spend under another key's tag by sending the metadata itself.
  const std::string spoof = s.call("POST", "/v1/chat/completions",
                                   R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":2,"metadata":{"api_key":"carol"}})",
                                   "Authorization: Bearer sk-alice\r\n");
  CHECK(cnai::test::status_of(spoof) == 429);
}

TEST_CASE("RedisSpendStore: reserve within the limit only, commit books the actual, atomic across stores") {
  if (!cnai::test::RedisProcess::available()) {
    MESSAGE("redis-server is not installed: skipped");
    return;
  }
  cnai::test::RedisProcess redis;
  cnai::RedisSpendStore a(redis.url()), b(redis.url());
  const std::string key = "cnai:budget:test::all";
  CHECK(a.try_reserve(key, 0.75, 1.0, 60s));
  CHECK_FALSE(b.try_reserve(key, 0.5, 1.0, 60s));  // 0.75 reserved + 0.5 > 1
  CHECK(b.reserved(key) == doctest::Approx(0.75));
  a.commit(key, 0.75, 0.25, 60s);                  // cheaper than estimated: room again
  CHECK(b.spent(key) == doctest::Approx(0.25));
  CHECK(b.reserved(key) == doctest::Approx(0.0));
  CHECK(b.try_reserve(key, 0.5, 1.0, 60s));
  b.commit(key, 0.5, 0.5, 60s);
  CHECK(a.spent(key) == doctest::Approx(0.75));

  // 8 threads on two stores race for 40 units of 1: exactly 40 reservations succeed.
  const std::string race = "cnai:budget:race::all";
  std::atomic<int> granted{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        cnai::RedisSpendStore& s = t % 2 ? a : b;
        for (int i = 0; i < 10; ++i) {
          if (s.try_reserve(race, 1.0, 40.0, 60s)) {
            ++granted;
            s.commit(race, 1.0, 1.0, 60s);
          }
        }
      });
    }
  }
  CHECK(granted == 40);
  CHECK(a.spent(race) == doctest::Approx(40.0));
  CHECK(a.reserved(race) == doctest::Approx(0.0));

  // A stalled Redis (every client paused 1.5 s): the reservation is refused
  // (unavailable) at the command timeout, not held; afterwards the store works.
  {
    cnai::RedisSpendStore quick(redis.url(), {.command_timeout = std::chrono::milliseconds(200)});
    cnai::server::RedisConnection raw(cnai::server::RedisUrl::parse(redis.url()), 2s, 2s);
    raw.command({"CLIENT", "PAUSE", "1500", "ALL"});
    const auto start = std::chrono::steady_clock::now();
    try {
      (void)quick.try_reserve("cnai:budget:paused::all", 1.0, 10.0, 60s);
      FAIL("a reservation against a paused Redis returned");
    } catch (const cnai::Error& e) {
      CHECK(e.code() == cnai::ErrorCode::unavailable);
    }
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    std::this_thread::sleep_for(1600ms);
    CHECK(quick.try_reserve("cnai:budget:after::all", 1.0, 10.0, 60s));
  }

  CHECK_THROWS_AS(cnai::RedisSpendStore("redis://127.0.0.1:" + std::to_string(cnai::test::free_port())), cnai::Error);
  CHECK_THROWS_AS(cnai::open_spend_store("postgres://x"), cnai::Error);
  CHECK(dynamic_cast<cnai::InMemorySpendStore*>(cnai::open_spend_store("memory").get()) != nullptr);
}

TEST_CASE("Two servers sharing one Redis cross one budget together: never more than it holds") {
  if (!cnai::test::RedisProcess::available()) {
    MESSAGE("redis-server is not installed: skipped");
    return;
  }
  cnai::test::RedisProcess redis;
  Upstream up;
  const std::string yaml = "deployments:\n" +
                           deployment_yaml("cloud", up, "    price: {input: 0, output: 500000}\n") +
                           "aliases:\n  chat: {targets: [cloud]}\n"
                           "budgets:\n  - {name: team, scope: global, limit: 10, period: day, action: refuse}\n";
  // Each call is estimated and booked at exactly $1: $10 serves exactly 10 calls, whichever server takes them.
  auto run = [&](std::shared_ptr<cnai::SpendStore> for_a, std::shared_ptr<cnai::SpendStore> for_b) {
    ServedRouter sa(yaml, std::move(for_a)), sb(yaml, std::move(for_b));
    std::atomic<int> served{0}, refused{0}, other{0};
    {
      std::vector<std::jthread> clients;
      for (int t = 0; t < 8; ++t) {
        clients.emplace_back([&, t] {
          for (int i = 0; i < 4; ++i) {
            const int status = cnai::test::status_of(((t + i) % 2 ? sa : sb).call("POST", "/v1/chat/completions", kHi));
            (status == 200 ? served : status == 429 ? refused : other)++;
          }
        });
      }
    }
    CHECK(other == 0);
    return served.load();
  };
  SUBCASE("shared through Redis") {
    auto store_a = std::make_shared<cnai::RedisSpendStore>(redis.url());
    auto store_b = std::make_shared<cnai::RedisSpendStore>(redis.url());
    CHECK(run(store_a, store_b) == 10);
    CHECK(up.calls == 10);
    auto today = [] {
      const std::time_t t = std::time(nullptr);
      std::tm tm{};
      gmtime_r(&t, &tm);
      return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    };
    // The key the router books a day's global budget under (unless the day turned mid-test).
    const std::string day = today();
    const double spent = store_a->spent("cnai:budget:team::" + day);
    if (day == today()) CHECK(spent == doctest::Approx(10.0));
  }
  SUBCASE("control: a store per server lets each spend the whole budget") {
    CHECK(run(nullptr, nullptr) == 20);
  }
}
