// Router failover against real loopback API servers with injected faults:
// 5xx fallback, errors that list every attempt, breakers opening, cooling down
// and recovering through half-open, Retry-After, 401, the failure table,
// streams that fail before / after their first content chunk, `continue`,
// every deployment cooling down (with and without max_wait).
#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cnai/router/router.hpp"
#include "fake_cloud.hpp"

using namespace cnai;
using namespace std::chrono_literals;
using cnai::test::FakeCloud;
using cnai::test::TestRequest;
using cnai::test::TestResponse;

namespace {

ResponseFormat json_format() {
  ResponseFormat f;
  f.type = "json_object";
  return f;
}

ChatRequest ask(const std::string& model = "chat", const std::string& text = "Say hello") {
  ChatRequest r;
  r.model = model;
  r.messages.push_back(Message::user(text));
  r.max_tokens = 16;
  return r;
}

Deployment deployment(const std::string& name, std::shared_ptr<Backend> backend) {
  Deployment d;
  d.name = name;
  d.backend = std::move(backend);
  d.model = "m-" + name;
  d.breaker.minimum_calls = 2;
  d.breaker.window_calls = 4;
  d.breaker.failure_rate = 0.5;
  d.breaker.cooldown = 300ms;
  return d;
}

RouterSpec two_clouds(FakeCloud& a, FakeCloud& b) {
  RouterSpec s;
  s.deployments.push_back(deployment("a", a.client("a")));
  s.deployments.push_back(deployment("b", b.client("b")));
  AliasSpec chat;
  chat.name = "chat";
  chat.group.members = {{.deployment = "a"}, {.deployment = "b"}};
  s.aliases.push_back(chat);
  return s;
}

RoutingError routing_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const RoutingError& e) {
    return e;
  } catch (const std::exception& e) {
    FAIL("expected a RoutingError, got: " << e.what());
  }
  FAIL("expected a RoutingError");
  return RoutingError(ErrorCode::internal, "", std::nullopt, "", {}, {});
}

}  // namespace

TEST_CASE("a 5xx from the first deployment falls back to the next; the response tells the story") {
  FakeCloud a, b("from b");
  a.fail_with(500, "alpha broke");
  auto router = Router::create(two_clouds(a, b));
  ChatResponse r = router->chat(ask());
  CHECK(r.choices.at(0).message.content == "from b");
  CHECK(r.backend == "b");
  REQUIRE(r.route);
  CHECK(r.route->alias == "chat");
  CHECK(r.route->deployment == "b");
  REQUIRE(r.route->attempts.size() == 2);
  CHECK(r.route->attempts[0].deployment == "a");
  CHECK(r.route->attempts[0].error_code == "upstream");
  CHECK(r.route->attempts[0].upstream_status == 500);
  CHECK(r.route->attempts[0].error.find("alpha broke") != std::string::npos);
  CHECK(r.route->attempts[1].deployment == "b");
  CHECK(r.route->attempts[1].error_code.empty());
  CHECK(r.route->router_overhead_us > 0);
  CHECK(r.route->router_overhead_us < 5000);
  CHECK(a.calls() == 1);
  CHECK(b.calls() == 1);
  // The deployment's model went upstream, not the alias.
  CHECK(b.last_body().find("\"model\":\"m-b\"") != std::string::npos);
}

TEST_CASE("nothing could serve: the error lists each deployment with its own upstream error") {
  FakeCloud a, b;
  a.fail_with(500, "alpha broke");
  b.fail_with(503, "beta is down");
  auto router = Router::create(two_clouds(a, b));
  RoutingError e = routing_error([&] { router->chat(ask()); });
  CHECK(e.code() == ErrorCode::unavailable);  // the last attempt's (503)
  CHECK(e.upstream_status() == 503);
  const std::string what = e.what();
  CHECK(what.find("a: upstream (HTTP 500)") != std::string::npos);
  CHECK(what.find("alpha broke") != std::string::npos);
  CHECK(what.find("b: unavailable (HTTP 503)") != std::string::npos);
  CHECK(what.find("beta is down") != std::string::npos);
  REQUIRE(e.attempts().size() == 2);
  CHECK(e.attempts()[1].error.find("beta is down") != std::string::npos);
}

TEST_CASE("the breaker opens, skips the deployment while cooling, and recovers through half-open") {
  FakeCloud a("from a"), b("from b");
  a.fail_with(502, "bad gateway");
  auto router = Router::create(two_clouds(a, b));
  for (int i = 0; i < 2; ++i) CHECK(router->chat(ask()).route->deployment == "b");
  CHECK(a.calls() == 2);
  CHECK(router->deployments()[0].breaker == BreakerState::open);
  ChatResponse r = router->chat(ask());  // a is cooling down: not called
  CHECK(a.calls() == 2);
  CHECK(r.route->attempts.size() == 1);
  REQUIRE(r.route->skipped.size() == 1);
  CHECK(r.route->skipped[0].find("a: cooling down") == 0);
  a.set_answer("from a");  // a heals
  std::this_thread::sleep_for(350ms);
  CHECK(router->deployments()[0].breaker == BreakerState::half_open);
  r = router->chat(ask());  // the probe
  CHECK(r.route->deployment == "a");
  CHECK(router->deployments()[0].breaker == BreakerState::closed);
  CHECK(router->chat(ask()).route->deployment == "a");
  CHECK(a.calls() == 4);
}

TEST_CASE("a failed half-open probe opens the breaker again for another cooldown") {
  FakeCloud a, b("from b");
  a.fail_with(500, "still broken");
  auto router = Router::create(two_clouds(a, b));
  router->chat(ask());
  router->chat(ask());
  REQUIRE(router->deployments()[0].breaker == BreakerState::open);
  std::this_thread::sleep_for(350ms);
  CHECK(router->chat(ask()).route->deployment == "b");  // probe failed over
  CHECK(a.calls() == 3);
  CHECK(router->deployments()[0].breaker == BreakerState::open);
  router->chat(ask());
  CHECK(a.calls() == 3);
}

TEST_CASE("429 with Retry-After cools the deployment for that long; 401 opens it at once") {
  FakeCloud a("from a"), b("from b");
  a.fail_with(429, "slow down", {{"Retry-After", "1"}});
  auto router = Router::create(two_clouds(a, b));
  CHECK(router->chat(ask()).route->deployment == "b");  // one 429 is enough: the upstream said how long
  CHECK(router->deployments()[0].breaker == BreakerState::open);
  a.set_answer("from a");
  std::this_thread::sleep_for(500ms);  // past the configured 300 ms, within Retry-After
  CHECK(router->chat(ask()).route->deployment == "b");
  CHECK(a.calls() == 1);
  std::this_thread::sleep_for(600ms);
  CHECK(router->chat(ask()).route->deployment == "a");

  FakeCloud c, d("from d");
  c.fail_with(401, "bad key");
  auto r2 = Router::create(two_clouds(c, d));
  CHECK(r2->chat(ask()).route->deployment == "b");
  CHECK(r2->deployments()[0].breaker == BreakerState::open);  // minimum_calls does not apply
}

TEST_CASE("the failure table: invalid_argument stops; a table entry can make 5xx stop too") {
  FakeCloud a, b("from b");
  a.fail_with(400, "bad field");
  auto router = Router::create(two_clouds(a, b));
  RoutingError e = routing_error([&] { router->chat(ask()); });
  CHECK(e.code() == ErrorCode::invalid_argument);
  CHECK(b.calls() == 0);
  CHECK(router->deployments()[0].breaker == BreakerState::closed);  // the request's fault, not a's

  a.fail_with(500, "boom");
  RouterSpec s = two_clouds(a, b);
  s.failure_rules.set(ErrorCode::upstream, FailureAction::stop);
  auto strict = Router::create(s);
  CHECK(routing_error([&] { strict->chat(ask()); }).code() == ErrorCode::upstream);
  CHECK(b.calls() == 0);
}

TEST_CASE("context_overflow goes only to deployments with a larger context window") {
  FakeCloud small, tiny, big("from big");
  small.set([](const TestRequest&) {
    return TestResponse::json(R"({"error":{"message":"This model's maximum context length is 4096 tokens","code":"context_length_exceeded"}})", 400);
  });
  RouterSpec s;
  auto d1 = deployment("small", small.client("small"));
  d1.context_window = 4096;
  auto d2 = deployment("tiny", tiny.client("tiny"));
  d2.context_window = 2048;
  auto d3 = deployment("big", big.client("big"));
  d3.context_window = 128000;
  s.deployments = {d1, d2, d3};
  AliasSpec a;
  a.name = "chat";
  a.group.members = {{.deployment = "small"}, {.deployment = "tiny"}, {.deployment = "big"}};
  s.aliases.push_back(a);
  auto router = Router::create(s);
  ChatResponse r = router->chat(ask());
  CHECK(r.route->deployment == "big");
  CHECK(r.route->attempts[0].error_code == "context_overflow");
  CHECK(tiny.calls() == 0);  // smaller than the one that overflowed: never tried

  // The pre-call check: a prompt too long for `tiny` skips it without a call.
  AliasSpec t;
  t.name = "t";
  t.group.members = {{.deployment = "tiny"}, {.deployment = "big"}};
  s.aliases = {t};
  auto r2 = Router::create(s);
  ChatRequest longer = ask("t", std::string(12000, 'x'));
  ChatResponse rr = r2->chat(longer);
  CHECK(rr.route->deployment == "big");
  CHECK(tiny.calls() == 0);
  REQUIRE(rr.route->skipped.size() == 1);
  CHECK(rr.route->skipped[0].find("tiny: context window 2048") == 0);
}

TEST_CASE("capability pre-checks skip deployments that lack tools or JSON output") {
  FakeCloud plain("plain"), tooled("tooled");
  RouterSpec s;
  auto p = deployment("plain", nullptr);
  OpenAiOptions po = plain.options("plain");
  po.capabilities.tools = false;
  po.capabilities.json_output = false;
  p.backend = std::make_shared<OpenAiClient>(po);
  s.deployments = {p, deployment("tooled", tooled.client("tooled"))};
  AliasSpec a;
  a.name = "chat";
  a.group.members = {{.deployment = "plain"}, {.deployment = "tooled"}};
  s.aliases.push_back(a);
  auto router = Router::create(s);
  ChatRequest r = ask();
  Tool tool;
  tool.name = "get_weather";
  r.tools.push_back(tool);
  ChatResponse out = router->chat(r);
  CHECK(out.route->deployment == "tooled");
  CHECK(out.route->skipped.at(0) == "plain: lacks tools");
  ChatRequest j = ask();
  j.response_format = json_format();
  CHECK(router->chat(j).route->deployment == "tooled");
  CHECK(plain.calls() == 0);
  CHECK(router->chat(ask()).route->deployment == "plain");
}

TEST_CASE("a stream that fails before its first content chunk fails over with nothing shown twice") {
  FakeCloud a, b("hello from b");
  a.set([](const TestRequest&) {
    TestResponse r = TestResponse::sse({cnai::test::sse_event(cnai::test::chunk_json(R"({"role":"assistant","content":""})"))});
    r.fault = cnai::test::Fault::reset_after_chunks;
    return r;
  });
  auto router = Router::create(two_clouds(a, b));
  ChatRequest req = ask();
  std::string seen;
  int roles = 0;
  ChatResponse r = router->chat_stream(req, [&](const ChatChunk& c) {
    seen += c.delta_content;
    if (c.delta_role) ++roles;
    return true;
  });
  CHECK(seen == "hello from b");
  CHECK(roles == 1);
  CHECK(r.route->deployment == "b");
  CHECK(r.route->attempts.size() == 2);
  CHECK(r.choices.at(0).message.content == "hello from b");
}

TEST_CASE("a stream that fails after content reached the caller ends with an error, never spliced") {
  FakeCloud a, b("never shown");
  a.set([](const TestRequest&) {
    TestResponse r = TestResponse::sse(cnai::test::stream_chunks({"partial ", "answer"}, false));
    r.fault = cnai::test::Fault::reset_after_chunks;
    return r;
  });
  auto router = Router::create(two_clouds(a, b));
  std::string seen;
  RoutingError e = routing_error([&] {
    router->chat_stream(ask(), [&](const ChatChunk& c) {
      seen += c.delta_content;
      return true;
    });
  });
  CHECK(seen == "partial answer");
  CHECK(b.calls() == 0);
  CHECK(std::string(e.what()).find("a failed after 14 bytes of its answer reached the caller") != std::string::npos);
  CHECK(router->metrics_text().find("cnai_router_stream_failures_after_content_total{alias=\"chat\"} 1") != std::string::npos);
}

TEST_CASE("opt-in continue: the next deployment continues the partial answer, and the response says where") {
  FakeCloud a, b;
  a.set([](const TestRequest&) {
    TestResponse r = TestResponse::sse(cnai::test::stream_chunks({"The sky ", "is "}, false));
    r.fault = cnai::test::Fault::reset_after_chunks;
    return r;
  });
  b.set([](const TestRequest&) { return TestResponse::sse(cnai::test::stream_chunks({"blue", "."})); });
  RouterSpec s = two_clouds(a, b);
  s.deployments[0].continue_streams = true;
  auto router = Router::create(s);
  std::string seen;
  int roles = 0;
  ChatResponse r = router->chat_stream(ask(), [&](const ChatChunk& c) {
    seen += c.delta_content;
    if (c.delta_role) ++roles;
    return true;
  });
  CHECK(seen == "The sky is blue.");
  CHECK(roles == 1);
  CHECK(r.choices.at(0).message.content == "The sky is blue.");
  REQUIRE(r.route);
  CHECK(r.route->joined_from == "a");
  CHECK(r.route->joined_at == 11);
  CHECK_FALSE(r.route->join_reason.empty());
  // b was sent the original messages plus the partial assistant text.
  CHECK(b.last_body().find(R"({"role":"assistant","content":"The sky is "})") != std::string::npos);
}

TEST_CASE("first-token and inter-chunk timeouts fail a slow stream over before content") {
  FakeCloud slow, fast("quick answer");
  slow.set([](const TestRequest&) {
    TestResponse r = TestResponse::sse(cnai::test::stream_chunks({"late"}));
    r.delay_before_head = 2000ms;
    return r;
  });
  RouterSpec s = two_clouds(slow, fast);
  s.deployments[0].timeouts.first_token = 150ms;
  auto router = Router::create(s);
  const auto t0 = std::chrono::steady_clock::now();
  std::string seen;
  ChatResponse r = router->chat_stream(ask(), [&](const ChatChunk& c) {
    seen += c.delta_content;
    return true;
  });
  CHECK(std::chrono::steady_clock::now() - t0 < 1500ms);
  CHECK(seen == "quick answer");
  CHECK(r.route->attempts.at(0).error_code == "timeout");
  CHECK(r.route->attempts.at(0).error.find("first_token timeout (150 ms)") != std::string::npos);

  // Inter-chunk: the role chunk arrives, then silence.
  slow.set([](const TestRequest&) {
    TestResponse stall = TestResponse::sse({cnai::test::sse_event(cnai::test::chunk_json(R"({"role":"assistant","content":""})"))});
    stall.fault = cnai::test::Fault::stall_after_chunks;
    return stall;
  });
  RouterSpec s2 = two_clouds(slow, fast);
  s2.deployments[0].timeouts.inter_chunk = 150ms;
  auto r2 = Router::create(s2);
  seen.clear();
  ChatResponse out = r2->chat_stream(ask(), [&](const ChatChunk& c) {
    seen += c.delta_content;
    return true;
  });
  CHECK(seen == "quick answer");
  CHECK(out.route->attempts.at(0).error.find("inter_chunk timeout (150 ms)") != std::string::npos);
}

TEST_CASE("every deployment cooling down: an immediate error, or a wait up to max_wait for the first recovery") {
  FakeCloud a, b;
  a.fail_with(500, "a down");
  b.fail_with(500, "b down");
  RouterSpec s = two_clouds(a, b);
  auto router = Router::create(s);
  for (int i = 0; i < 2; ++i) routing_error([&] { router->chat(ask()); });
  REQUIRE(router->deployments()[0].breaker == BreakerState::open);
  REQUIRE(router->deployments()[1].breaker == BreakerState::open);
  RoutingError e = routing_error([&] { router->chat(ask()); });
  CHECK(e.code() == ErrorCode::unavailable);
  CHECK(e.attempts().empty());
  REQUIRE(e.skipped().size() == 2);
  CHECK(std::string(e.what()).find("a: cooling down") != std::string::npos);
  CHECK(std::string(e.what()).find("b: cooling down") != std::string::npos);

  s.max_wait = 2000ms;
  auto waiting = Router::create(s);
  for (int i = 0; i < 2; ++i) routing_error([&] { waiting->chat(ask()); });
  a.set_answer("a is back");
  b.set_answer("b is back");
  const auto t0 = std::chrono::steady_clock::now();
  ChatResponse r = waiting->chat(ask());
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(r.choices.at(0).message.content.find("is back") != std::string::npos);
  CHECK(waited >= 200ms);   // it waited for a cooldown (300 ms from the second failure) ...
  CHECK(waited < 1500ms);   // ... not for max_wait
  CHECK(waiting->metrics_text().find("cnai_router_recovery_waits_total{alias=\"chat\"} 1") != std::string::npos);
}

TEST_CASE("unknown names, deployments by name, routers inside routers, cancellation") {
  FakeCloud a("from a"), b("from b");
  auto inner = Router::create(two_clouds(a, b));
  CHECK_THROWS_AS(inner->chat(ask("nope")), Error);
  try {
    inner->chat(ask("nope"));
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::not_found);
    CHECK(std::string(e.what()).find("aliases: chat") != std::string::npos);
  }
  CHECK(inner->chat(ask("b")).route->deployment == "b");  // a deployment by its name

  RouterSpec outer;
  Deployment d;
  d.name = "inner";
  d.backend = inner;
  d.model = "chat";
  outer.deployments.push_back(d);
  AliasSpec o;
  o.name = "top";
  o.group.members = {{.deployment = "inner"}};
  outer.aliases.push_back(o);
  auto top = Router::create(outer);
  ChatResponse r = top->chat(ask("top"));
  CHECK(r.choices.at(0).message.content == "from a");
  CHECK(r.route->deployment == "inner");

  std::stop_source stop;
  stop.request_stop();
  try {
    top->chat(ask("top"), stop.get_token());
    FAIL("expected cancelled");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::cancelled);
  }
}

TEST_CASE("a caller's callback that throws or stops is the caller's, not a deployment failure") {
  FakeCloud a("from a"), b("from b");
  auto router = Router::create(two_clouds(a, b));
  CHECK_THROWS_WITH_AS(router->chat_stream(ask(), [](const ChatChunk&) -> bool { throw std::runtime_error("host bug"); }),
                       "host bug", std::runtime_error);
  CHECK(b.calls() == 0);
  try {
    router->chat_stream(ask(), [](const ChatChunk&) { return false; });
    FAIL("expected cancelled");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::cancelled);
  }
  CHECK(b.calls() == 0);
  CHECK(router->deployments()[0].breaker == BreakerState::closed);
}

TEST_CASE("create() names what is wrong with a spec") {
  FakeCloud a;
  RouterSpec s;
  s.deployments.push_back(deployment("a", a.client("a")));
  AliasSpec x;
  x.name = "chat";
  x.group.members = {{.deployment = "zzz"}};
  s.aliases.push_back(x);
  CHECK_THROWS_WITH(Router::create(s), doctest::Contains("names unknown deployment 'zzz'"));
  s.aliases[0].group.members = {{.deployment = "a"}, {.deployment = "a"}};
  CHECK_THROWS_WITH(Router::create(s), doctest::Contains("lists 'a' twice"));
  s.aliases[0].group.members = {{.deployment = "a"}};
  s.deployments.push_back(s.deployments[0]);
  CHECK_THROWS_WITH(Router::create(s), doctest::Contains("defined twice"));
}

TEST_CASE("every deployment at its max_concurrency: overloaded at once, or a wait up to max_wait for a freed slot") {
  // One deployment, one call at a time; its upstream holds each call until released.
  FakeCloud a;
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  a.set([&](const TestRequest&) {
    std::unique_lock lock(m);
    cv.wait_for(lock, 10s, [&] { return release; });
    return TestResponse::json(cnai::test::chat_body("served"));
  });
  auto let_go = [&] {
    {
      std::lock_guard lock(m);
      release = true;
    }
    cv.notify_all();
  };
  auto hold_again = [&] {
    std::lock_guard lock(m);
    release = false;
  };
  auto spec_with = [&](std::chrono::milliseconds max_wait) {
    RouterSpec s;
    Deployment d = deployment("a", a.client("a"));
    d.limits.max_concurrency = 1;
    s.deployments.push_back(d);
    AliasSpec chat;
    chat.name = "chat";
    chat.group.members = {{.deployment = "a"}};
    s.aliases.push_back(chat);
    s.max_wait = max_wait;
    return s;
  };
  auto wait_for_call = [&](int n) {
    for (int i = 0; i < 500 && a.calls() < n; ++i) std::this_thread::sleep_for(2ms);
    REQUIRE(a.calls() >= n);
  };

  {  // No max_wait: the second caller is refused at once, saying why.
    auto router = Router::create(spec_with(0ms));
    std::thread first([&] { CHECK(router->chat(ask()).choices.at(0).message.content == "served"); });
    wait_for_call(1);
    const auto t0 = std::chrono::steady_clock::now();
    RoutingError e = routing_error([&] { router->chat(ask()); });
    CHECK(std::chrono::steady_clock::now() - t0 < 500ms);
    CHECK(e.code() == ErrorCode::overloaded);
    CHECK(std::string(e.what()).find("a: at its max_concurrency (1)") != std::string::npos);
    let_go();
    first.join();
  }
  hold_again();
  const int before = a.calls();
  {  // max_wait: the second caller waits for the first's slot, then is served.
    auto router = Router::create(spec_with(5000ms));
    std::thread first([&] { CHECK(router->chat(ask()).choices.at(0).message.content == "served"); });
    wait_for_call(before + 1);
    std::atomic<bool> second_done{false};
    ChatResponse second_out;
    std::thread second([&] {
      second_out = router->chat(ask());
      second_done = true;
    });
    std::this_thread::sleep_for(150ms);
    CHECK_FALSE(second_done.load());  // waiting, not refused
    CHECK(a.calls() == before + 1);   // and not calling the upstream meanwhile (no polling)
    const auto t0 = std::chrono::steady_clock::now();
    let_go();
    first.join();
    second.join();
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);  // woken by the freed slot, not by max_wait
    CHECK(second_out.choices.at(0).message.content == "served");
    CHECK(second_out.route->router_overhead_us < 100000);  // the wait is not counted as the router's work
    CHECK(router->metrics_text().find("cnai_router_slot_waits_total{alias=\"chat\"} 1") != std::string::npos);
  }
  hold_again();
  {  // The wait ends at max_wait (overloaded), or at once when the caller cancels.
    auto router = Router::create(spec_with(300ms));
    std::thread first([&] { CHECK(router->chat(ask()).choices.at(0).message.content == "served"); });
    wait_for_call(a.calls() + 1);
    auto t0 = std::chrono::steady_clock::now();
    RoutingError e = routing_error([&] { router->chat(ask()); });
    const auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(e.code() == ErrorCode::overloaded);
    CHECK(waited >= 250ms);
    CHECK(waited < 3s);
    std::stop_source cancel;
    std::thread canceller([&] {
      std::this_thread::sleep_for(50ms);
      cancel.request_stop();
    });
    ChatRequest r = ask();
    t0 = std::chrono::steady_clock::now();
    try {
      router->chat(r, cancel.get_token());
      FAIL("a cancelled wait returned an answer");
    } catch (const Error& err) {
      CHECK(err.code() == ErrorCode::cancelled);
    }
    CHECK(std::chrono::steady_clock::now() - t0 < 250ms);
    canceller.join();
    let_go();
    first.join();
  }
}
