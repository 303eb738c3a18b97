// The router with the real default model (SmolLM2 Q4_1) as its local
// deployment beside loopback "cloud" servers: local-only requests never reach
// the cloud (the server counts), overflow to the cloud when local is saturated
// and back when it drains, a local context window counted exactly, rules.
#include <doctest/doctest.h>

#include <atomic>
#include <latch>
#include <mutex>
#include <thread>

#include "cnai/router/router.hpp"
#include "fake_cloud.hpp"
#include "support/default_model.hpp"

using namespace cnai;
using namespace std::chrono_literals;
using cnai::test::FakeCloud;

namespace {

ResponseFormat json_format() {
  ResponseFormat f;
  f.type = "json_object";
  return f;
}

std::shared_ptr<LocalEngine> local_engine() {
  static std::shared_ptr<LocalEngine> engine = [] {
    auto path = cnai::testing::default_model_or_skip();
    if (!path) return std::shared_ptr<LocalEngine>();
    LocalEngineOptions o;
    o.n_ctx = 1024;
    o.model.threads = 1;
    return LocalEngine::load(*path, o);
  }();
  return engine;
}

ChatRequest ask(const std::string& model, const std::string& text = "Say hello", int max_tokens = 8) {
  ChatRequest r;
  r.model = model;
  r.messages.push_back(Message::user(text));
  r.max_tokens = max_tokens;
  r.sampling.temperature = 0;
  return r;
}

RouterSpec local_and_cloud(std::shared_ptr<LocalEngine> engine, FakeCloud& cloud, std::shared_ptr<Policy> policy = {}) {
  RouterSpec s;
  Deployment local;
  local.name = "local";
  local.backend = std::move(engine);
  Deployment remote;
  remote.name = "cloud";
  remote.backend = cloud.client("cloud");
  remote.model = "gpt-4o-mini";
  remote.price = ModelPrice{0.15, 0.60, -1};
  s.deployments = {local, remote};
  AliasSpec chat;
  chat.name = "chat";
  chat.group.policy = std::move(policy);
  chat.group.members = {{.deployment = "local"}, {.deployment = "cloud"}};
  s.aliases.push_back(chat);
  MetadataRule privacy;
  privacy.match = {{"privacy", "local-only"}};
  privacy.action = MetadataRule::Action::local_only;
  MetadataRule batch;
  batch.match = {{"tier", "batch"}};
  batch.action = MetadataRule::Action::prefer_local;
  s.rules = {privacy, batch};
  return s;
}

}  // namespace

TEST_CASE("local first, and a local-only request never reaches the cloud, even when local fails") {
  auto engine = local_engine();
  if (!engine) return;
  FakeCloud cloud;
  auto router = Router::create(local_and_cloud(engine, cloud));
  ChatResponse r = router->chat(ask("chat"));
  CHECK(r.route->deployment == "local");
  CHECK_FALSE(r.choices.at(0).message.content.empty());
  CHECK(r.usage.cost_usd == 0);

  // JSON output is a capability local lacks: a normal request goes to the cloud ...
  ChatRequest json = ask("chat");
  json.response_format = json_format();
  CHECK(router->chat(json).route->deployment == "cloud");
  CHECK(cloud.calls() == 1);
  // ... but a local-only one fails rather than leave the machine.
  json.metadata["privacy"] = "local-only";
  try {
    router->chat(json);
    FAIL("expected an error");
  } catch (const RoutingError& e) {
    INFO(std::string(e.what()));
    CHECK(e.code() == ErrorCode::unsupported);
    CHECK(std::string(e.what()).find("cloud: not local (local-only request)") != std::string::npos);
  }
  // Local failing at run time (a total timeout no answer meets) does not fall back either.
  RouterSpec s = local_and_cloud(engine, cloud);
  s.deployments[0].timeouts.total = 1ms;
  auto strict = Router::create(s);
  ChatRequest priv = ask("chat", "Write a long story about the sea.", 64);
  priv.metadata["privacy"] = "local-only";
  try {
    strict->chat(priv);
    FAIL("expected an error");
  } catch (const RoutingError& e) {
    CHECK(e.code() == ErrorCode::timeout);
    REQUIRE(e.attempts().size() == 1);
    CHECK(e.attempts()[0].deployment == "local");
  }
  // Streamed, too.
  try {
    strict->chat_stream(priv, [](const ChatChunk&) { return true; });
    FAIL("expected an error");
  } catch (const RoutingError& e) {
    CHECK(e.code() == ErrorCode::timeout);
  }
  CHECK(cloud.calls() == 1);  // still the one non-private request
}

namespace {

// An engine of two sequences at once, so a burst of a few requests saturates it.
std::shared_ptr<LocalEngine> narrow_engine() {
  static std::shared_ptr<LocalEngine> engine = [] {
    auto path = cnai::testing::default_model_or_skip();
    if (!path) return std::shared_ptr<LocalEngine>();
    LocalEngineOptions o;
    o.n_ctx = 512;
    o.model.threads = 1;
    o.max_sequences = 2;
    return LocalEngine::load(*path, o);
  }();
  return engine;
}

struct Burst {
  int local = 0, cloud = 0, max_queue = 0, max_running = 0;
  bool overflowed = false;
};

// `n` requests at once (or `spacing` apart); a sampler watches the engine's own queue and the policy meanwhile.
Burst burst(Router& router, LocalEngine& engine, const OverflowPolicy& policy, int n, int max_tokens,
            std::chrono::milliseconds spacing = {}) {
  Burst b;
  std::mutex m;
  std::atomic<bool> done{false};
  std::thread sampler([&] {
    while (!done) {
      const BackendHealth h = engine.health();
      {
        std::lock_guard lock(m);
        b.max_queue = std::max(b.max_queue, h.queue_depth);
        b.max_running = std::max(b.max_running, h.running);
        b.overflowed = b.overflowed || policy.overflowing();
      }
      std::this_thread::sleep_for(1ms);
    }
  });
  std::latch start(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      std::this_thread::sleep_for(i * spacing);
      ChatResponse r = router.chat(ask("chat", "Tell me about the sea.", max_tokens));
      std::lock_guard lock(m);
      (r.route->deployment == "local" ? b.local : b.cloud) += 1;
    });
  }
  for (auto& t : threads) t.join();
  done = true;
  sampler.join();
  return b;
}

}  // namespace

TEST_CASE("overflow on the engine's real load: local until its sequences and queue are full, the cloud for the peak, local once drained") {
  auto engine = narrow_engine();
  if (!engine) return;
  FakeCloud cloud("from the cloud");
  OverflowOptions o;
  o.max_queue_depth = 2;  // two running (its capacity) and two waiting: the next goes out
  o.resume_queue_depth = 0;
  auto policy = std::make_shared<OverflowPolicy>(o);
  auto router = Router::create(local_and_cloud(engine, cloud, policy));
  CHECK(engine->health().capacity == 2);
  CHECK(router->chat(ask("chat")).route->deployment == "local");  // quiet: local

  const Burst b = burst(*router, *engine, *policy, 10, 24);
  MESSAGE("burst of 10: " << b.local << " local, " << b.cloud << " cloud; the engine ran at most " << b.max_running
                          << " with at most " << b.max_queue << " waiting");
  CHECK(b.local + b.cloud == 10);
  CHECK(b.local >= 3);   // its two sequences and its queue were used before any overflow
  CHECK(b.cloud >= 2);   // the peak went out
  CHECK(cloud.calls() == b.cloud);
  CHECK(b.overflowed);
  CHECK(b.max_running <= 2);
  CHECK(b.max_queue >= 1);  // the engine's own queue formed: the requests beyond its capacity waited there
  CHECK(b.max_queue <= 10 - 2);

  // Drained: the engine is idle again, and so is the overflow.
  CHECK(engine->health().queue_depth == 0);
  CHECK(router->chat(ask("chat")).route->deployment == "local");
  CHECK_FALSE(policy->overflowing());
  CHECK(cloud.calls() == b.cloud);
}

TEST_CASE("overflow on the engine's estimated wait: the cloud while local's wait is long, local again once it is short") {
  auto engine = narrow_engine();
  if (!engine) return;
  FakeCloud cloud("from the cloud");
  REQUIRE(engine->chat(ask("", "Say hello", 4)).choices.size() == 1);  // a step time to estimate with
  // Idle, a request waits about one batch step; behind a full engine, about as
  // many steps as the running answers have tokens left. The threshold sits between.
  const double idle_ms = engine->health().estimated_wait_ms;
  REQUIRE(idle_ms > 0);
  OverflowOptions o;
  o.max_queue_depth = 1000;  // the queue alone never overflows here
  o.max_wait = std::chrono::milliseconds(static_cast<int>(std::max(8.0, 6 * idle_ms)));
  o.resume_queue_depth = 1000;
  auto policy = std::make_shared<OverflowPolicy>(o);
  auto router = Router::create(local_and_cloud(engine, cloud, policy));
  CHECK(router->chat(ask("chat")).route->deployment == "local");
  // The engine's estimate follows its batch steps: arrivals a little apart see it.
  const Burst b = burst(*router, *engine, *policy, 10, 32, std::chrono::milliseconds(static_cast<int>(2 * idle_ms) + 5));
  MESSAGE("idle estimate " << idle_ms << " ms, threshold " << o.max_wait.count() << " ms: " << b.local << " local, "
                           << b.cloud << " cloud");
  CHECK(b.local + b.cloud == 10);
  CHECK(b.local >= 2);
  CHECK(b.cloud >= 1);
  CHECK(b.overflowed);
  CHECK(router->chat(ask("chat")).route->deployment == "local");
  CHECK_FALSE(policy->overflowing());
}

TEST_CASE("tier: batch prefers local even under a cost policy that would pick the cloud") {
  auto engine = local_engine();
  if (!engine) return;
  FakeCloud cloud;
  RouterSpec s = local_and_cloud(engine, cloud, std::make_shared<CostPolicy>());
  // Make the cloud look free and local expensive, so the cost policy prefers the cloud.
  s.deployments[0].price = ModelPrice{1, 1, -1};
  s.deployments[1].price = ModelPrice{0, 0, -1};
  auto router = Router::create(s);
  CHECK(router->chat(ask("chat")).route->deployment == "cloud");
  ChatRequest batch = ask("chat");
  batch.metadata["tier"] = "batch";
  CHECK(router->chat(batch).route->deployment == "local");
}

TEST_CASE("the local context window is checked with an exact token count before the call") {
  auto engine = local_engine();
  if (!engine) return;
  FakeCloud cloud("long answer from the cloud");
  auto router = Router::create(local_and_cloud(engine, cloud));
  // 900 prompt tokens of the local tokenizer plus 200 completion do not fit in 1024.
  std::string text;
  while (engine->tokenize_prompt(engine->render_prompt(ask("chat", text))).size() < 900) text += "sea and sky ";
  ChatResponse r = router->chat(ask("chat", text, 200));
  CHECK(r.route->deployment == "cloud");
  REQUIRE_FALSE(r.route->skipped.empty());
  CHECK(r.route->skipped[0].find("local: context window 1024 < ") == 0);
  // The same prompt with room for its completion stays local.
  ChatResponse fits = router->chat(ask("chat", text, 16));
  CHECK(fits.route->deployment == "local");
}
