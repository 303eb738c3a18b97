// The response cache of an alias, against a loopback cloud that counts its
// calls: deterministic requests hit, others never; TTL expiry; the bounds of
// the in-memory store (entries, bytes, least recently used first); entries
// never shared across API-key tags unless configured; a hit replayed to a
// streaming caller; hits in RouteInfo, the observer and the metrics; a store
// that fails costs only the hit; the config's `cache:`.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "cnai/router/router.hpp"
#include "fake_cloud.hpp"
#include "prometheus_text.hpp"

using namespace cnai;
using namespace std::chrono_literals;
using cnai::test::FakeCloud;
using cnai::test::TestRequest;
using cnai::test::TestResponse;

namespace {

ChatRequest ask(const std::string& text = "Say hello", std::optional<float> temperature = 0.0f) {
  ChatRequest r;
  r.model = "chat";
  r.messages.push_back(Message::user(text));
  r.max_tokens = 16;
  r.sampling.temperature = temperature;
  return r;
}

RouterSpec cached_spec(FakeCloud& cloud, ResponseCacheOptions cache = {}) {
  RouterSpec s;
  Deployment d;
  d.name = "cloud";
  d.backend = cloud.client("cloud");
  d.model = "gpt-x";
  d.price = ModelPrice{1, 2, -1};
  s.deployments.push_back(d);
  AliasSpec chat;
  chat.name = "chat";
  chat.group.members = {{.deployment = "cloud"}};
  chat.cache = cache;
  s.aliases.push_back(chat);
  return s;
}

// The cloud answers with the request's own text, so a wrong hit shows.
void echo(FakeCloud& cloud) {
  cloud.set([](const TestRequest& r) {
    const auto p = r.body.find("\"content\":\"") + 11;
    const std::string text = "echo " + r.body.substr(p, r.body.find('"', p) - p);
    if (r.body.find("\"stream\":true") != std::string::npos)
      return TestResponse::sse(cnai::test::stream_chunks({text.substr(0, 3), text.substr(3)}));
    return TestResponse::json(cnai::test::chat_body(text));
  });
}

// A store that keeps what it is given, and can be made to fail.
class RecordingStore final : public ResponseCacheStore {
 public:
  std::optional<std::string> get(const std::string& key) override {
    std::lock_guard lock(m);
    if (failing) throw Error(ErrorCode::unavailable, "store down");
    auto it = values.find(key);
    return it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  void put(const std::string& key, std::string value, std::chrono::milliseconds ttl) override {
    std::lock_guard lock(m);
    if (failing) throw Error(ErrorCode::unavailable, "store down");
    values[key] = std::move(value);
    last_ttl = ttl;
  }
  std::mutex m;
  bool failing = false;
  std::map<std::string, std::string> values;
  std::chrono::milliseconds last_ttl{0};
};

}  // namespace

TEST_CASE("cache: a deterministic request is answered from the cache the second time, marked and counted") {
  FakeCloud cloud;
  echo(cloud);
  std::vector<RouteRecord> records;
  RouterSpec s = cached_spec(cloud);
  s.observer = [&](const RouteRecord& r) { records.push_back(r); };
  auto router = Router::create(s);
  ChatResponse first = router->chat(ask());
  CHECK_FALSE(first.route->cache_hit);
  CHECK(first.usage.cost_usd > 0);
  ChatResponse second = router->chat(ask());
  CHECK(cloud.calls() == 1);
  CHECK(second.route->cache_hit);
  CHECK(second.route->deployment == "cloud");
  CHECK(second.route->attempts.empty());  // no deployment was called
  CHECK(second.choices.at(0).message.content == "echo Say hello");
  CHECK(second.choices.at(0).message.content == first.choices.at(0).message.content);
  CHECK(second.choices.at(0).finish_reason == FinishReason::stop);
  CHECK(second.usage.prompt_tokens == first.usage.prompt_tokens);
  CHECK(second.usage.cost_usd == 0);  // nothing was spent
  CHECK(second.route->router_overhead_us > 0);
  // A different prompt, or other sampling, is another entry.
  CHECK(router->chat(ask("Say bye")).choices.at(0).message.content == "echo Say bye");
  ChatRequest longer = ask();
  longer.max_tokens = 17;
  CHECK_FALSE(router->chat(longer).route->cache_hit);
  CHECK(cloud.calls() == 3);
  // What the request names beyond its content does not matter: routing metadata, the deadline.
  ChatRequest tagged = ask();
  tagged.metadata["tier"] = "batch";
  tagged.priority = 3;
  CHECK(router->chat(tagged).route->cache_hit);

  REQUIRE(records.size() == 5);
  CHECK_FALSE(records[0].cache_hit);
  CHECK(records[1].cache_hit);
  CHECK(records[1].deployment == "cloud");
  CHECK(records[1].cost_usd == 0);
  CHECK(records[1].prompt_tokens == 3);
  const auto p = cnai::test::parse_prometheus(router->metrics_text());
  CHECK(p.problems.empty());
  CHECK(p.value("cnai_router_cache_hits_total", {{"alias", "chat"}}) == 2);
  CHECK(p.value("cnai_router_cache_misses_total", {{"alias", "chat"}}) == 3);
  CHECK(p.value("cnai_router_alias_requests_total", {{"alias", "chat"}, {"outcome", "served"}}) == 5);
  CHECK(p.value("cnai_router_requests_total", {{"cnai_deployment", "cloud"}}) == 3);  // hits are no attempts
}

TEST_CASE("cache: non-deterministic requests are never cached; a fixed seed is deterministic") {
  FakeCloud cloud;
  echo(cloud);
  auto router = Router::create(cached_spec(cloud));
  for (std::optional<float> t : {std::optional<float>{}, std::optional<float>{0.7f}}) {
    const int before = cloud.calls();
    CHECK_FALSE(router->chat(ask("hot", t)).route->cache_hit);
    CHECK_FALSE(router->chat(ask("hot", t)).route->cache_hit);
    CHECK(cloud.calls() == before + 2);
  }
  ChatRequest seeded = ask("seeded", 0.9f);
  seeded.sampling.seed = 42;
  CHECK_FALSE(router->chat(seeded).route->cache_hit);
  CHECK(router->chat(seeded).route->cache_hit);
  seeded.sampling.seed = 43;
  CHECK_FALSE(router->chat(seeded).route->cache_hit);
  const auto p = cnai::test::parse_prometheus(router->metrics_text());
  CHECK(p.value("cnai_router_cache_misses_total", {{"alias", "chat"}}) == 2);  // only cacheable requests count
}

TEST_CASE("cache: entries expire after their TTL") {
  FakeCloud cloud;
  echo(cloud);
  ResponseCacheOptions o;
  o.ttl = 150ms;
  auto router = Router::create(cached_spec(cloud, o));
  router->chat(ask());
  CHECK(router->chat(ask()).route->cache_hit);
  std::this_thread::sleep_for(250ms);
  CHECK_FALSE(router->chat(ask()).route->cache_hit);
  CHECK(cloud.calls() == 2);
  CHECK(router->chat(ask()).route->cache_hit);  // stored again
}

TEST_CASE("cache: the in-memory store keeps its bounds, least recently used first") {
  FakeCloud cloud;
  echo(cloud);
  ResponseCacheOptions o;
  o.max_entries = 2;
  auto router = Router::create(cached_spec(cloud, o));
  router->chat(ask("a"));
  router->chat(ask("b"));
  CHECK(router->chat(ask("a")).route->cache_hit);  // a is now the most recent
  router->chat(ask("c"));                           // evicts b
  CHECK(router->chat(ask("a")).route->cache_hit);
  CHECK(router->chat(ask("c")).route->cache_hit);
  CHECK_FALSE(router->chat(ask("b")).route->cache_hit);
  CHECK(cloud.calls() == 4);

  // The store on its own: entries and bytes.
  InMemoryResponseCache store({.max_entries = 10, .max_bytes = 100});
  store.put("k1", std::string(40, 'x'), 1min);
  store.put("k2", std::string(40, 'y'), 1min);
  CHECK(store.size() == 2);
  CHECK(store.bytes() == 84);
  store.put("k3", std::string(40, 'z'), 1min);  // 126 bytes would pass 100: k1 goes
  CHECK(store.size() == 2);
  CHECK_FALSE(store.get("k1"));
  CHECK(store.get("k2") == std::string(40, 'y'));
  CHECK(store.evictions() == 1);
  store.put("big", std::string(200, 'b'), 1min);  // larger than the bound: not kept, nothing evicted for it
  CHECK_FALSE(store.get("big"));
  CHECK(store.size() == 2);
  store.put("k2", "short", 1min);  // replacing an entry updates the byte count
  CHECK(store.bytes() == 42 + 7);
  store.put("gone", "v", 0ms);
  CHECK_FALSE(store.get("gone"));
}

TEST_CASE("cache: never shared across API-key tags or users unless configured") {
  FakeCloud cloud;
  echo(cloud);
  auto router = Router::create(cached_spec(cloud));
  auto as = [](std::optional<std::string> key, std::optional<std::string> user) {
    ChatRequest r = ask();
    if (key) r.metadata["api_key"] = *key;
    r.user = user;
    return r;
  };
  CHECK_FALSE(router->chat(as("k1", std::nullopt)).route->cache_hit);
  CHECK(router->chat(as("k1", std::nullopt)).route->cache_hit);
  CHECK_FALSE(router->chat(as("k2", std::nullopt)).route->cache_hit);
  CHECK_FALSE(router->chat(as(std::nullopt, std::nullopt)).route->cache_hit);
  CHECK_FALSE(router->chat(as("k1", "ann")).route->cache_hit);
  CHECK_FALSE(router->chat(as("k1", "bob")).route->cache_hit);
  CHECK(router->chat(as("k1", "ann")).route->cache_hit);
  CHECK(cloud.calls() == 5);

  // Shared: one entry for every tag. A custom tag key is honoured otherwise.
  FakeCloud other;
  echo(other);
  ResponseCacheOptions shared;
  shared.share_across_tags = true;
  auto open = Router::create(cached_spec(other, shared));
  open->chat(as("k1", "ann"));
  CHECK(open->chat(as("k2", "bob")).route->cache_hit);
  ResponseCacheOptions by_tenant;
  by_tenant.tag_key = "tenant";
  auto tenants = Router::create(cached_spec(other, by_tenant));
  ChatRequest t1 = ask(), t2 = ask();
  t1.metadata["tenant"] = "a";
  t2.metadata["tenant"] = "b";
  tenants->chat(t1);
  CHECK(tenants->chat(t1).route->cache_hit);
  CHECK_FALSE(tenants->chat(t2).route->cache_hit);
}

TEST_CASE("cache: a streamed request is served from the cache as a stream") {
  FakeCloud cloud;
  echo(cloud);
  auto router = Router::create(cached_spec(cloud));
  auto stream = [&](const ChatRequest& r, std::vector<ChatChunk>& chunks) {
    return router->chat_stream(r, [&](const ChatChunk& c) {
      chunks.push_back(c);
      return true;
    });
  };
  std::vector<ChatChunk> live, replayed;
  ChatResponse first = stream(ask("streamed"), live);
  CHECK_FALSE(first.route->cache_hit);
  ChatResponse second = stream(ask("streamed"), replayed);
  CHECK(second.route->cache_hit);
  CHECK(cloud.calls() == 1);
  std::string live_text, replayed_text;
  for (const auto& c : live) live_text += c.delta_content;
  for (const auto& c : replayed) replayed_text += c.delta_content;
  CHECK(live_text == "echo streamed");
  CHECK(replayed_text == live_text);
  REQUIRE(replayed.size() >= 3);
  CHECK(replayed.front().delta_role == Role::assistant);
  CHECK(replayed.back().finish_reason == FinishReason::stop);
  REQUIRE(replayed.back().usage);
  CHECK(second.choices.at(0).message.content == "echo streamed");
  // A plain answer serves a later stream too (same request otherwise), and a stream a plain one.
  router->chat(ask("plain first"));
  std::vector<ChatChunk> from_plain;
  CHECK(stream(ask("plain first"), from_plain).route->cache_hit);
  CHECK(router->chat(ask("streamed")).route->cache_hit);
  CHECK(cloud.calls() == 2);
  // A caller that stops the replay gets cancelled, as with a live stream.
  try {
    router->chat_stream(ask("streamed"), [](const ChatChunk&) { return false; });
    FAIL("expected cancelled");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::cancelled);
  }
}

TEST_CASE("cache: a store of the host's own; one that fails costs only the hit") {
  FakeCloud cloud;
  echo(cloud);
  auto store = std::make_shared<RecordingStore>();
  ResponseCacheOptions o;
  o.store = store;
  o.ttl = 5s;
  auto router = Router::create(cached_spec(cloud, o));
  ChatRequest r = ask();
  r.user = "ann@example.com";
  router->chat(r);
  CHECK(router->chat(r).route->cache_hit);
  REQUIRE(store->values.size() == 1);
  const std::string key = store->values.begin()->first;
  CHECK(key.rfind("cnai:cache:chat:", 0) == 0);
  CHECK(key.find("ann") == std::string::npos);  // the tag is hashed, never in the key's text
  CHECK(store->last_ttl == 5s);
  store->failing = true;
  ChatResponse served = router->chat(r);
  CHECK_FALSE(served.route->cache_hit);
  CHECK(served.choices.at(0).message.content == "echo Say hello");
  CHECK(cloud.calls() == 2);
  // A value the router did not write is a miss, not an error.
  store->failing = false;
  store->values[key] = "not a response";
  CHECK_FALSE(router->chat(r).route->cache_hit);
  CHECK(router->chat(r).route->cache_hit);
}

TEST_CASE("cache: from a config, with a shared store from the build options") {
  FakeCloud cloud;
  echo(cloud);
  const std::string text =
      "deployments:\n"
      "  ext: {type: external}\n"
      "aliases:\n"
      "  chat:\n"
      "    targets: [ext]\n"
      "    cache: {ttl: 2s, max_entries: 10, max_bytes: 100000, tag_key: tenant}\n"
      "  plain: [ext]\n";
  RouterBuildOptions o;
  o.backends["ext"] = cloud.client("ext");
  auto router = Router::from_config_string(text, o, "cache.yaml");
  router->chat(ask());
  CHECK(router->chat(ask()).route->cache_hit);
  ChatRequest p = ask();
  p.model = "plain";  // no cache on this alias
  router->chat(p);
  CHECK_FALSE(router->chat(p).route->cache_hit);

  auto store = std::make_shared<RecordingStore>();
  o.response_cache_store = store;
  auto shared = Router::from_config_string(text, o, "cache.yaml");
  shared->chat(ask());
  CHECK(store->values.size() == 1);
  CHECK(store->last_ttl == 2s);
  try {
    Router::from_config_string(
        "deployments: {ext: {type: external}}\naliases:\n  chat:\n    targets: [ext]\n    cache: {ttl: 1s, bogus: 1}\n", o,
        "bad.yaml");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("bad.yaml:5") != std::string::npos);
  }
}

TEST_CASE("cache: many threads asking the same few questions get their own answers; every request a hit or a miss") {
  FakeCloud cloud;
  echo(cloud);
  ResponseCacheOptions o;
  o.max_entries = 3;  // fewer than the questions: evictions under load too
  auto router = Router::create(cached_spec(cloud, o));
  std::atomic<int> hits{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string q = "question " + std::to_string((t + i) % 5);
        ChatResponse r = (i % 2) ? router->chat_stream(ask(q), [](const ChatChunk&) { return true; }) : router->chat(ask(q));
        if (r.choices.at(0).message.content != "echo " + q) ++wrong;
        if (r.route->cache_hit) ++hits;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
  CHECK(hits > 0);
  CHECK(hits + cloud.calls() == 16 * 20);
  const auto p = cnai::test::parse_prometheus(router->metrics_text());
  CHECK(p.value("cnai_router_cache_hits_total", {{"alias", "chat"}}) == hits);
  CHECK(p.value("cnai_router_cache_misses_total", {{"alias", "chat"}}) == cloud.calls());
}
