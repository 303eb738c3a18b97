// RedisResponseCache against a redis-server this test starts: entries under
// the prefix with Redis's own TTL, oversized values left out, URLs; two
// routers built from one config ("replicas", each with its own counting
// loopback cloud) sharing answers through one Redis, per API-key tag and
// model; and a Redis killed or paused mid-test costing misses, never a request.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "cnai/router/router.hpp"
#include "cnai/server/redis_response_cache.hpp"
#include "router/fake_cloud.hpp"
#include "server/redis_connection.hpp"
#include "support/service_process.hpp"

using namespace cnai;
using namespace std::chrono_literals;
using cnai::test::FakeCloud;
using cnai::test::RedisProcess;

namespace {

// Two aliases on one deployment: `chat` keeps answers a minute, `brief` 300 ms.
std::string replica_config(const std::string& model = "gpt-x") {
  return "deployments:\n"
         "  cloud: {type: external, model: " + model + "}\n"
         "aliases:\n"
         "  chat:\n    targets: [cloud]\n    cache: {ttl: 1m}\n"
         "  brief:\n    targets: [cloud]\n    cache: {ttl: 300ms}\n";
}

// A server replica: its own deployment (a loopback cloud answering in its own
// words, so an answer from the cache shows whose it was) and its own store on
// the shared Redis.
struct Replica {
  FakeCloud cloud;
  std::shared_ptr<RedisResponseCache> cache;
  std::shared_ptr<Router> router;
  Replica(const std::string& name, const std::string& redis_url, RedisResponseCacheOptions o = {},
          const std::string& model = "gpt-x")
      : cloud("answer of " + name), cache(std::make_shared<RedisResponseCache>(redis_url, o)) {
    RouterBuildOptions bo;
    bo.backends["cloud"] = cloud.client("cloud");
    bo.response_cache_store = cache;
    router = Router::from_config_string(replica_config(model), bo, "replica.yaml");
  }
};

ChatRequest ask(const std::string& text, const std::string& alias = "chat", const std::string& api_key = "team-a") {
  ChatRequest r;
  r.model = alias;
  r.messages.push_back(Message::user(text));
  r.max_tokens = 16;
  r.sampling.temperature = 0.0f;
  r.metadata["api_key"] = api_key;  // the tag the server sets from the caller's key
  return r;
}

std::string text_of(const ChatResponse& r) { return r.choices.at(0).message.content; }

// A client of its own on the test's Redis, to look at what the cache wrote.
server::RedisConnection inspect(const RedisProcess& redis) {
  return server::RedisConnection(server::RedisUrl::parse(redis.url()), 2s, 2s);
}

RedisResponseCacheOptions quick_retry() {
  RedisResponseCacheOptions o;
  o.command_timeout = 100ms;
  o.retry_after = 200ms;
  return o;
}

}  // namespace

TEST_CASE("RedisResponseCache: SET PX under the prefix, expiry, oversized values, counters, URLs") {
  if (!RedisProcess::available()) {
    MESSAGE("redis-server is not installed: skipped");
    return;
  }
  RedisProcess redis;
  RedisResponseCacheOptions small;
  small.max_value_bytes = 100;
  RedisResponseCache a(redis.url(), small), b(redis.url());
  CHECK(a.reachable());
  CHECK_FALSE(b.get("k"));
  CHECK(b.misses() == 1);
  a.put("k", std::string("v\0w", 3), 1min);  // binary-safe
  CHECK(b.get("k") == std::string("v\0w", 3));
  CHECK(b.hits() == 1);
  auto raw = inspect(redis);
  CHECK(server::reply_text(raw.command({"EXISTS", "k"}).get()) == "1");
  const std::int64_t pttl = server::reply_int(raw.command({"PTTL", "k"}).get());
  CHECK(pttl > 50000);  // Redis keeps the TTL: 1 min, less the time since
  CHECK(pttl <= 60000);

  a.put("short", "v", 150ms);
  CHECK(b.get("short") == "v");
  std::this_thread::sleep_for(250ms);
  CHECK_FALSE(b.get("short"));

  a.put("big", std::string(101, 'x'), 1min);  // over a's 100 bytes: not stored
  CHECK(a.oversized() == 1);
  CHECK_FALSE(b.get("big"));
  a.put("edge", std::string(100, 'x'), 1min);
  CHECK(b.get("edge") == std::string(100, 'x'));
  a.put("none", "v", 0ms);
  CHECK_FALSE(b.get("none"));

  RedisResponseCacheOptions staging;
  staging.key_prefix = "staging:";
  RedisResponseCache other(redis.url(), staging);
  CHECK_FALSE(other.get("k"));  // another prefix, another cache
  CHECK(a.errors() == 0);
  CHECK(b.errors() == 0);
  CHECK(b.last_error().empty());

  CHECK(open_response_cache_store("") == nullptr);
  CHECK(open_response_cache_store("memory") == nullptr);
  CHECK(dynamic_cast<RedisResponseCache*>(open_response_cache_store(redis.url()).get()) != nullptr);
  for (const char* bad : {"postgres://x", "redis://127.0.0.1:notaport", "redis://h:1/db"}) {
    try {
      open_response_cache_store(bad);
      FAIL("no throw for " << bad);
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::invalid_argument);
    }
  }
  // Nothing listens here: not an error at construction, only misses.
  RedisResponseCache nowhere("redis://127.0.0.1:" + std::to_string(cnai::test::free_port()));
  CHECK_FALSE(nowhere.reachable());
  CHECK_FALSE(nowhere.get("k"));
  nowhere.put("k", "v", 1min);
  CHECK(nowhere.errors() == 2);
  CHECK(nowhere.last_error().find("127.0.0.1") != std::string::npos);
}

TEST_CASE("Two replicas share their response cache through Redis: per API-key tag and model, with its TTL") {
  if (!RedisProcess::available()) {
    MESSAGE("redis-server is not installed: skipped");
    return;
  }
  RedisProcess redis;
  Replica a("A", redis.url()), b("B", redis.url());

  ChatResponse first = a.router->chat(ask("What is Redis?"));
  CHECK_FALSE(first.route->cache_hit);
  CHECK(text_of(first) == "answer of A");
  CHECK(a.cloud.calls() == 1);
  ChatResponse shared = b.router->chat(ask("What is Redis?"));
  CHECK(shared.route->cache_hit);
  CHECK(b.cloud.calls() == 0);  // B's deployment was never asked
  CHECK(text_of(shared) == "answer of A");
  CHECK(shared.usage.prompt_tokens == first.usage.prompt_tokens);
  CHECK(shared.usage.completion_tokens == first.usage.completion_tokens);
  CHECK(shared.choices.at(0).finish_reason == first.choices.at(0).finish_reason);
  CHECK(b.cache->hits() == 1);
  CHECK(a.cache->misses() == 1);
  // A stream through B is replayed from A's answer too.
  std::string streamed;
  ChatResponse replay = b.router->chat_stream(ask("What is Redis?"), [&](const ChatChunk& c) {
    streamed += c.delta_content;
    return true;
  });
  CHECK(replay.route->cache_hit);
  CHECK(streamed == "answer of A");

  // Another API key's tag is another entry: B asks its own deployment, then A finds B's answer.
  ChatResponse other_key = b.router->chat(ask("What is Redis?", "chat", "team-b"));
  CHECK_FALSE(other_key.route->cache_hit);
  CHECK(text_of(other_key) == "answer of B");
  CHECK(b.cloud.calls() == 1);
  CHECK(text_of(a.router->chat(ask("What is Redis?", "chat", "team-b"))) == "answer of B");
  CHECK(a.cloud.calls() == 1);

  // The same alias and deployment on another model (a replica rolled to a new one) shares nothing.
  Replica c("C", redis.url(), {}, "gpt-y");
  CHECK_FALSE(c.router->chat(ask("What is Redis?")).route->cache_hit);
  CHECK(c.cloud.calls() == 1);

  // brief's entries live 300 ms in Redis: then the deployment is asked again.
  a.router->chat(ask("Quick one", "brief"));
  CHECK(b.router->chat(ask("Quick one", "brief")).route->cache_hit);
  std::this_thread::sleep_for(400ms);
  ChatResponse expired = b.router->chat(ask("Quick one", "brief"));
  CHECK_FALSE(expired.route->cache_hit);
  CHECK(text_of(expired) == "answer of B");
  CHECK(b.cloud.calls() == 2);
  CHECK(a.router->chat(ask("Quick one", "brief")).route->cache_hit);  // B stored it again

  // A replica whose limit is below the answer's size stores nothing; A then asks its own deployment.
  RedisResponseCacheOptions tiny;
  tiny.max_value_bytes = 16;
  Replica s("S", redis.url(), tiny);
  CHECK_FALSE(s.router->chat(ask("Something long")).route->cache_hit);
  CHECK(s.cache->oversized() == 1);
  ChatResponse not_shared = a.router->chat(ask("Something long"));
  CHECK_FALSE(not_shared.route->cache_hit);
  CHECK(text_of(not_shared) == "answer of A");

  auto raw = inspect(redis);
  const auto keys = raw.command({"KEYS", "*"});
  for (std::size_t i = 0; i < keys->elements; ++i)
    CHECK(server::reply_text(keys->element[i]).rfind("cnai:cache:", 0) == 0);
  for (Replica* r : {&a, &b, &c, &s}) CHECK(r->cache->errors() == 0);
}

TEST_CASE("A Redis killed or paused mid-test costs misses, never a request; the cache is back with Redis") {
  if (!RedisProcess::available()) {
    MESSAGE("redis-server is not installed: skipped");
    return;
  }
  RedisProcess redis;
  Replica a("A", redis.url(), quick_retry()), b("B", redis.url(), quick_retry());
  a.router->chat(ask("Before"));
  CHECK(b.router->chat(ask("Before")).route->cache_hit);

  redis.kill_hard();
  for (int i = 0; i < 3; ++i) {
    ChatResponse r;
    CHECK_NOTHROW(r = b.router->chat(ask("Before")));
    CHECK_FALSE(r.route->cache_hit);
    CHECK(text_of(r) == "answer of B");
    CHECK_NOTHROW(r = a.router->chat(ask("During " + std::to_string(i))));
    CHECK(text_of(r) == "answer of A");
  }
  CHECK(b.cloud.calls() == 3);
  CHECK(b.cache->errors() >= 6);  // each request's get and put
  CHECK(a.cache->errors() >= 6);
  CHECK_FALSE(b.cache->last_error().empty());

  redis.restart();  // same port and data
  std::this_thread::sleep_for(300ms);  // past retry_after
  a.router->chat(ask("After"));
  CHECK(b.router->chat(ask("After")).route->cache_hit);
  const int a_calls = a.cloud.calls();

  // Paused (every client's commands wait 1.5 s): each call waits at most the command timeout.
  {
    auto raw = inspect(redis);
    raw.command({"CLIENT", "PAUSE", "1500", "ALL"});
  }
  const std::uint64_t errors_before = a.cache->errors();
  const auto start = std::chrono::steady_clock::now();
  ChatResponse slow = a.router->chat(ask("After"));
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK_FALSE(slow.route->cache_hit);
  CHECK(text_of(slow) == "answer of A");
  CHECK(a.cloud.calls() == a_calls + 1);
  CHECK(waited < 1s);  // the get's 100 ms, then the put is skipped
  CHECK(a.cache->errors() == errors_before + 2);
  std::this_thread::sleep_for(1600ms);  // the pause is over, and retry_after
  CHECK(a.router->chat(ask("After")).route->cache_hit);
}
