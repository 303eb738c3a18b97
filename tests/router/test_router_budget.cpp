// Budgets under concurrency: many threads cross one budget at once against a
// loopback cloud. Booked spend never passes the limit by more than what the
// calls in flight can add beyond their estimates; refusals are typed
// budget_exceeded; reroute_local sends the rest to the free local deployment;
// per-user budgets stay separate; what is booked equals what the responses cost.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <latch>
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

ChatRequest ask(const std::string& user = "") {
  ChatRequest r;
  r.model = "chat";
  r.messages.push_back(Message::user("Say hello"));
  r.max_tokens = 16;
  if (!user.empty()) r.user = user;
  return r;
}

Deployment paid(FakeCloud& cloud) {
  Deployment d;
  d.name = "cloud";
  d.backend = cloud.client("cloud");
  d.model = "gpt-x";
  d.price = ModelPrice{1000, 1000, -1};  // USD per million tokens: 0.001 per token
  d.local = false;
  return d;
}

// Answers with usage `prompt` + `completion` tokens, after a short pause so calls overlap.
void answer_with_usage(FakeCloud& cloud, int prompt, int completion) {
  cloud.set([prompt, completion](const TestRequest&) {
    TestResponse r = TestResponse::json(cnai::test::chat_body("paid answer", prompt, completion));
    r.delay_before_head = 2ms;
    return r;
  });
}

struct Results {
  std::mutex m;
  int served = 0, refused = 0, other = 0;
  double cost = 0, max_estimate = 0, max_overshoot = 0;
  std::vector<ChatResponse> responses;
  std::vector<std::string> problems;
};

void run_threads(int threads, int per_thread, const std::function<void(int, int)>& body) {
  std::latch start(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < per_thread; ++i) body(t, i);
    });
  }
  for (auto& th : pool) th.join();
}

void call_and_count(Router& router, const ChatRequest& req, Results& out) {
  try {
    ChatResponse r = router.chat(req);
    std::lock_guard lock(out.m);
    ++out.served;
    out.cost += r.usage.cost_usd;
    out.max_estimate = std::max(out.max_estimate, r.route->estimated_cost_usd);
    out.max_overshoot = std::max(out.max_overshoot, r.usage.cost_usd - r.route->estimated_cost_usd);
    out.responses.push_back(std::move(r));
  } catch (const RoutingError& e) {
    std::lock_guard lock(out.m);
    if (e.code() == ErrorCode::budget_exceeded && std::string(e.what()).find("budget 'cap'") != std::string::npos) {
      ++out.refused;
    } else {
      ++out.other;
      if (out.problems.size() < 5) out.problems.push_back(e.what());
    }
  } catch (const std::exception& e) {
    std::lock_guard lock(out.m);
    ++out.other;
    if (out.problems.size() < 5) out.problems.push_back(e.what());
  }
}

}  // namespace

TEST_CASE("a global budget crossed by many threads at once: spend within the limit plus what in-flight calls can add") {
  const int threads = 32, per_thread = 12;
  const double limit = 0.5;
  // Honest usage (each call costs less than its estimate), then usage beyond
  // the estimate (an upstream that counts more prompt tokens than the router guessed).
  for (const auto& [prompt, completion] : {std::pair{3, 2}, std::pair{30, 2}}) {
    CAPTURE(prompt);
    FakeCloud cloud;
    answer_with_usage(cloud, prompt, completion);
    RouterSpec s;
    s.deployments.push_back(paid(cloud));
    AliasSpec chat;
    chat.name = "chat";
    chat.group.members = {{.deployment = "cloud"}};
    s.aliases.push_back(chat);
    BudgetSpec cap;
    cap.name = "cap";
    cap.limit_usd = limit;
    cap.period = BudgetPeriod::total;
    cap.action = BudgetAction::refuse;
    s.budgets.push_back(cap);
    auto store = std::make_shared<InMemorySpendStore>();
    s.spend_store = store;
    auto router = Router::create(s);

    Results out;
    run_threads(threads, per_thread, [&](int, int) { call_and_count(*router, ask(), out); });
    for (const auto& p : out.problems) MESSAGE(p);
    const double spent = store->spent("cnai:budget:cap::all");
    MESSAGE(fmt::format("{} served, {} refused; booked {:.4f} USD of {} (estimate {:.4f}, overshoot per call {:.4f})", out.served,
                        out.refused, spent, limit, out.max_estimate, out.max_overshoot));
    CHECK(out.other == 0);
    CHECK(out.served + out.refused == threads * per_thread);
    CHECK(out.refused > 0);
    CHECK(out.served > 0);
    CHECK(cloud.calls() == out.served);  // a refusal never reached the cloud
    CHECK(spent == doctest::Approx(out.cost).epsilon(1e-9));  // booked = what the responses cost
    CHECK(spent == doctest::Approx(out.served * (prompt + completion) * 0.001).epsilon(1e-9));
    // The bound: at the last admission, spent + reserved + estimate <= limit;
    // afterwards only the calls then in flight (<= threads) book, each at most
    // its estimate plus its overshoot.
    CHECK(spent <= limit + threads * std::max(0.0, out.max_overshoot) + 1e-9);
    if (out.max_overshoot <= 0) CHECK(spent <= limit + 1e-9);
    // And the budget was used: refusals came only once it was nearly spent.
    CHECK(spent >= limit - threads * out.max_estimate - 1e-9);
  }
}

TEST_CASE("per-user budgets under concurrency: each user is capped on their own, typed refusals name the user") {
  FakeCloud cloud;
  answer_with_usage(cloud, 3, 2);  // 0.005 USD per call; the estimate is 0.021
  RouterSpec s;
  s.deployments.push_back(paid(cloud));
  AliasSpec chat;
  chat.name = "chat";
  chat.group.members = {{.deployment = "cloud"}};
  s.aliases.push_back(chat);
  BudgetSpec per_user;
  per_user.name = "cap";
  per_user.scope = BudgetScope::user;
  per_user.limit_usd = 0.1;
  per_user.period = BudgetPeriod::day;
  s.budgets.push_back(per_user);
  auto router = Router::create(s);
  const std::vector<std::string> users = {"ann", "bob", "cy", "dee"};
  std::map<std::string, Results> by_user;
  for (const auto& u : users) by_user[u];
  run_threads(24, 10, [&](int t, int i) {
    const std::string& u = users[static_cast<std::size_t>(t + i) % users.size()];
    call_and_count(*router, ask(u), by_user[u]);
  });
  for (const auto& u : users) {
    Results& r = by_user[u];
    CAPTURE(u);
    for (const auto& p : r.problems) MESSAGE(p);
    CHECK(r.other == 0);
    CHECK(r.served > 0);
    CHECK(r.refused > 0);
    CHECK(r.cost <= 0.1 + 1e-9);
    CHECK(r.cost >= 0.1 - 24 * 0.021);
  }
  // Once the calls in flight booked less than they reserved there may be room
  // for a few more; then a refusal, whose message names whose budget it was.
  std::string refusal;
  for (int i = 0; i < 30 && refusal.empty(); ++i) {
    try {
      router->chat(ask("ann"));
    } catch (const RoutingError& e) {
      CHECK(e.code() == ErrorCode::budget_exceeded);
      refusal = e.what();
    }
  }
  CHECK(refusal.find("for 'ann'") != std::string::npos);
}

TEST_CASE("reroute_local under load: once the budget is reached every request is served by the free local deployment") {
  FakeCloud cloud, local("from local");
  answer_with_usage(cloud, 3, 2);
  RouterSpec s;
  s.deployments.push_back(paid(cloud));
  Deployment l;
  l.name = "local";
  l.backend = local.client("local");  // a loopback OpenAI-compatible server standing for an on-machine one
  l.local = true;
  l.price = ModelPrice{0, 0, -1};
  s.deployments.push_back(l);
  AliasSpec chat;
  chat.name = "chat";
  chat.group.members = {{.deployment = "cloud"}, {.deployment = "local"}};
  s.aliases.push_back(chat);
  BudgetSpec cap;
  cap.name = "cap";
  cap.limit_usd = 0.3;
  cap.period = BudgetPeriod::total;
  cap.action = BudgetAction::reroute_local;
  s.budgets.push_back(cap);
  auto store = std::make_shared<InMemorySpendStore>();
  s.spend_store = store;
  auto router = Router::create(s);

  const int threads = 32, per_thread = 10;
  Results out;
  run_threads(threads, per_thread, [&](int, int) { call_and_count(*router, ask(), out); });
  for (const auto& p : out.problems) MESSAGE(p);
  int on_cloud = 0, on_local = 0, rerouted = 0;
  for (const ChatResponse& r : out.responses) {
    if (r.route->deployment == "cloud") ++on_cloud;
    if (r.route->deployment == "local") {
      ++on_local;
      CHECK(r.usage.cost_usd == 0);
      for (const auto& why : r.route->skipped) rerouted += why.find("cloud: budget 'cap'") == 0;
    }
  }
  MESSAGE(fmt::format("{} on the cloud, {} rerouted to local", on_cloud, on_local));
  CHECK(out.other == 0);
  CHECK(out.refused == 0);  // nothing refused: the local deployment took the rest
  CHECK(out.served == threads * per_thread);
  CHECK(on_cloud + on_local == out.served);
  CHECK(on_cloud > 0);
  CHECK(on_local > 0);
  CHECK(rerouted == on_local);  // each says why it went local
  CHECK(cloud.calls() == on_cloud);
  CHECK(local.calls() == on_local);
  const std::string key = "cnai:budget:cap::all";
  CHECK(store->spent(key) <= 0.3 + 1e-9);
  CHECK(store->spent(key) == doctest::Approx(on_cloud * 0.005).epsilon(1e-9));
  // Sequentially: a few more fit in what the in-flight calls reserved but did
  // not spend; once one goes local, the budget is spent and the rest follow.
  int more_on_cloud = 0;
  while (more_on_cloud < 20 && router->chat(ask()).route->deployment == "cloud") ++more_on_cloud;
  CHECK(more_on_cloud < 20);
  CHECK(router->chat(ask()).route->deployment == "local");
  CHECK(store->spent(key) <= 0.3 + 1e-9);
}
