// DynamicBatcher policies on a manual clock: batches at max size, at the max
// queue delay, at preferred sizes; priorities; reject and delay timeouts and
// their overrides; hard deadlines; cancellation of a queued request; the
// queue bound (overloaded at once, also under a burst); results in order per
// caller; grouping by length within a token budget; model errors; shutdown.
// A gate in the model function holds the worker so that queues can be set up.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/engine/dynamic_batcher.hpp"

namespace {

using namespace std::chrono_literals;
using cnai::BatcherClock;
using cnai::BatchRequestOptions;
using cnai::DynamicBatcher;
using cnai::DynamicBatcherOptions;
using cnai::ErrorCode;

constexpr auto kPatience = 10s;

// Options with only some fields set (designated initializers would leave -Wextra
// warnings about the others).
template <class T, class F>
T with(F&& set) {
  T t;
  set(t);
  return t;
}
template <class F>
DynamicBatcherOptions batching(F&& set) {
  return with<DynamicBatcherOptions>(set);
}
template <class F>
BatchRequestOptions request(F&& set) {
  return with<BatchRequestOptions>(set);
}  // real time a test waits for something that must happen

// The model function: doubles each input, records every batch, and can be held
// at a gate (the worker then stays inside it).
struct Model {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::vector<int>> batches;
  bool gated = false, inside = false;

  void operator()(std::span<const int* const> in, std::span<int> out) {
    std::unique_lock lock(mutex);
    inside = true;
    cv.notify_all();
    cv.wait(lock, [&] { return !gated; });
    std::vector<int> b;
    for (std::size_t i = 0; i < in.size(); ++i) {
      b.push_back(*in[i]);
      out[i] = *in[i] * 2;
    }
    batches.push_back(b);
    inside = false;
    cv.notify_all();
  }
  void close_gate() {
    std::lock_guard lock(mutex);
    gated = true;
  }
  void open_gate() {
    std::lock_guard lock(mutex);
    gated = false;
    cv.notify_all();
  }
  bool wait_inside() {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, kPatience, [&] { return inside; });
  }
  bool wait_batches(std::size_t n) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, kPatience, [&] { return batches.size() >= n; });
  }
  std::vector<std::vector<int>> snapshot() {
    std::lock_guard lock(mutex);
    return batches;
  }
};

using Batcher = DynamicBatcher<int, int>;

struct Fixture {
  explicit Fixture(DynamicBatcherOptions o) : clock(BatcherClock::manual()) {
    o.clock = clock;
    batcher = std::make_unique<Batcher>(std::move(o), [this](auto in, auto out) { model(in, out); });
  }
  // Holds the worker in a batch of its own (of n requests), so that what is
  // submitted next queues up.
  std::vector<std::future<int>> hold(int n = 1) {
    model.close_gate();
    std::vector<std::future<int>> held;
    for (int i = 0; i < n; ++i) held.push_back(batcher->submit(-1 - i));
    REQUIRE(model.wait_inside());
    return held;
  }
  std::shared_ptr<BatcherClock> clock;
  Model model;
  std::unique_ptr<Batcher> batcher;
};

ErrorCode error_of(std::future<int>& f) {
  REQUIRE(f.wait_for(kPatience) == std::future_status::ready);
  try {
    f.get();
  } catch (const cnai::Error& e) {
    return e.code();
  }
  FAIL("the request succeeded");
  return ErrorCode::internal;
}

void settle() { std::this_thread::sleep_for(30ms); }  // time for a wrong batch to show up

}  // namespace

TEST_CASE("a batch leaves as soon as max_batch_size requests wait, without waiting for the delay") {
  Fixture f(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 4; o.max_queue_delay = std::chrono::hours(1); }));
  std::vector<std::future<int>> fs;
  for (int i = 1; i <= 4; ++i) fs.push_back(f.batcher->submit(i));
  REQUIRE(f.model.wait_batches(1));
  CHECK(f.model.snapshot()[0].size() == 4);
  for (int i = 0; i < 4; ++i) CHECK(fs[static_cast<std::size_t>(i)].get() == 2 * (i + 1));
}

TEST_CASE("a partial batch leaves when its oldest request has waited max_queue_delay") {
  Fixture f(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 8; o.max_queue_delay = 10ms; }));
  auto a = f.batcher->submit(1);
  f.clock->advance(4ms);
  auto b = f.batcher->submit(2);
  auto c = f.batcher->submit(3);
  f.clock->advance(5ms);  // the oldest has waited 9 ms
  settle();
  CHECK(f.model.snapshot().empty());
  f.clock->advance(1ms);
  REQUIRE(f.model.wait_batches(1));
  CHECK(f.model.snapshot()[0] == std::vector<int>{1, 2, 3});
  CHECK(a.get() + b.get() + c.get() == 12);
}

TEST_CASE("preferred batch sizes leave at once; the largest one that can be formed") {
  Fixture f(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 8; o.max_queue_delay = std::chrono::hours(1); o.preferred_batch_sizes = {2, 4}; }));
  auto first = f.batcher->submit(1);
  settle();
  CHECK(f.model.snapshot().empty());  // 1 is not a preferred size: it waits
  auto second = f.batcher->submit(2);
  REQUIRE(f.model.wait_batches(1));
  CHECK(f.model.snapshot()[0].size() == 2);
  // With the worker held, five queue up: 4 leave together, the fifth waits.
  auto held = f.hold(2);
  std::vector<std::future<int>> fs;
  for (int i = 10; i < 15; ++i) fs.push_back(f.batcher->submit(i));
  f.model.open_gate();
  REQUIRE(f.model.wait_batches(3));
  settle();
  const auto batches = f.model.snapshot();
  REQUIRE(batches.size() == 3);
  CHECK(batches[2].size() == 4);
  CHECK(fs[4].wait_for(0s) == std::future_status::timeout);
}

TEST_CASE("higher priority levels are served first, FIFO within a level") {
  Fixture f(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 1; o.priority_levels = 3; }));
  auto held = f.hold();
  auto low1 = f.batcher->submit(31, request([&](BatchRequestOptions& q) { q.priority = 3; }));
  auto mid = f.batcher->submit(21, request([&](BatchRequestOptions& q) { q.priority = 2; }));
  auto low2 = f.batcher->submit(32, request([&](BatchRequestOptions& q) { q.priority = 0; }));  // 0: the default level, here the lowest
  auto high = f.batcher->submit(11, request([&](BatchRequestOptions& q) { q.priority = 1; }));
  f.model.open_gate();
  REQUIRE(f.model.wait_batches(5));
  const auto b = f.model.snapshot();
  CHECK(b[1] == std::vector<int>{11});
  CHECK(b[2] == std::vector<int>{21});
  CHECK(b[3] == std::vector<int>{31});
  CHECK(b[4] == std::vector<int>{32});
}

TEST_CASE("queue timeouts: reject fails the request, delay serves it after the others") {
  SUBCASE("reject") {
    Fixture f(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 1; o.default_queue_policy.timeout_action = cnai::TimeoutAction::reject; o.default_queue_policy.default_timeout = 10ms; }));
    auto held = f.hold();
    auto late = f.batcher->submit(5);
    f.clock->advance(10ms);
    f.model.open_gate();
    CHECK(error_of(late) == ErrorCode::timeout);
    settle();
    CHECK(f.model.snapshot().size() == 1);  // it never ran
    CHECK(f.batcher->stats().timed_out == 1);
  }
  SUBCASE("delay") {
    Fixture f(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 1; o.default_queue_policy.timeout_action = cnai::TimeoutAction::delay; o.default_queue_policy.default_timeout = 10ms; }));
    auto held = f.hold();
    auto late = f.batcher->submit(5);
    f.clock->advance(10ms);
    auto fresh = f.batcher->submit(6);
    f.model.open_gate();
    CHECK(late.get() == 10);  // served, not rejected ...
    CHECK(fresh.get() == 12);
    const auto b = f.model.snapshot();
    REQUIRE(b.size() == 3);
    CHECK(b[1] == std::vector<int>{6});  // ... but after the request that had not timed out
    CHECK(b[2] == std::vector<int>{5});
  }
}

TEST_CASE("a request's own timeout counts only where the level's policy allows overrides") {
  for (bool allow : {false, true}) {
    CAPTURE(allow);
    Fixture f(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 1; o.default_queue_policy.default_timeout = 100ms; o.default_queue_policy.allow_timeout_override = allow; }));
    auto held = f.hold();
    auto r = f.batcher->submit(7, request([&](BatchRequestOptions& q) { q.timeout = 5ms; }));
    f.clock->advance(5ms);
    f.model.open_gate();
    if (allow) {
      CHECK(error_of(r) == ErrorCode::timeout);
    } else {
      CHECK(r.get() == 14);  // the 100 ms default still holds
    }
  }
}

TEST_CASE("a hard deadline fails a queued request whatever the policy") {
  Fixture f(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 1; o.default_queue_policy.timeout_action = cnai::TimeoutAction::delay; }));
  auto held = f.hold();
  auto r = f.batcher->submit(3, request([&](BatchRequestOptions& q) { q.deadline = f.clock->now() + 2ms; }));
  f.clock->advance(2ms);
  f.model.open_gate();
  CHECK(error_of(r) == ErrorCode::timeout);
}

TEST_CASE("cancelling a queued request fails it at once, and it never runs") {
  Fixture f(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 4; o.max_queue_delay = 0ms; }));
  auto held = f.hold();
  std::stop_source stop;
  auto r = f.batcher->submit(9, request([&](BatchRequestOptions& q) { q.cancel = stop.get_token(); }));
  auto other = f.batcher->submit(8);
  stop.request_stop();
  CHECK(error_of(r) == ErrorCode::cancelled);  // while the worker is still held
  f.model.open_gate();
  CHECK(other.get() == 16);
  for (const auto& b : f.model.snapshot()) CHECK(std::find(b.begin(), b.end(), 9) == b.end());
  CHECK(f.batcher->stats().cancelled == 1);
  std::stop_source already;
  already.request_stop();
  CHECK_THROWS_AS(f.batcher->submit(1, request([&](BatchRequestOptions& q) { q.cancel = already.get_token(); })), cnai::Error);
}

TEST_CASE("a full queue refuses at once with overloaded, also in a burst past its size") {
  Fixture f(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 2; o.default_queue_policy.max_queue_size = 3; }));
  auto held = f.hold();
  std::vector<std::future<int>> accepted;
  int refused = 0;
  for (int i = 0; i < 50; ++i) {
    try {
      accepted.push_back(f.batcher->submit(i));
    } catch (const cnai::Error& e) {
      CHECK(e.code() == ErrorCode::overloaded);
      CHECK(e.retryable());
      ++refused;
    }
  }
  CHECK(accepted.size() == 3);
  CHECK(refused == 47);
  CHECK(f.batcher->stats().rejected_full == 47);
  f.model.open_gate();
  for (auto& a : accepted) CHECK(a.wait_for(kPatience) == std::future_status::ready);
  CHECK_NOTHROW(f.batcher->submit(100).get());  // room again
}

TEST_CASE("results of one caller arrive in submission order even when a later one runs first") {
  for (std::uint64_t caller : {0u, 7u}) {
    CAPTURE(caller);
    Fixture f(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 1; o.priority_levels = 2; }));
    auto held = f.hold();
    std::mutex m;
    std::vector<int> delivered;
    auto record = [&](int* r, std::exception_ptr) {
      std::lock_guard lock(m);
      delivered.push_back(*r);
    };
    f.batcher->submit(1, request([&](BatchRequestOptions& q) { q.priority = 2; q.caller = caller; }), record);
    f.batcher->submit(2, request([&](BatchRequestOptions& q) { q.priority = 1; q.caller = caller; }), record);  // runs first: higher priority
    f.model.open_gate();
    REQUIRE(f.model.wait_batches(3));
    settle();
    const auto b = f.model.snapshot();
    CHECK(b[1] == std::vector<int>{2});
    std::lock_guard lock(m);
    CHECK(delivered == (caller == 0 ? std::vector<int>{4, 2} : std::vector<int>{2, 4}));
  }
}

TEST_CASE("batches group requests of similar length and respect the token budget") {
  Fixture f(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 2; o.max_batch_tokens = 200; o.group_by_length = true; }));
  auto held = f.hold();
  std::vector<std::future<int>> fs;
  for (int len : {10, 100, 12, 98}) fs.push_back(f.batcher->submit(len, request([&](BatchRequestOptions& q) { q.length = static_cast<std::size_t>(len); })));
  f.model.open_gate();
  REQUIRE(f.model.wait_batches(3));
  auto b = f.model.snapshot();
  CHECK(b[1] == std::vector<int>{10, 12});
  CHECK(b[2] == std::vector<int>{100, 98});
  const auto s = f.batcher->stats();
  CHECK(s.padded_tokens - s.real_tokens == (12 - 10) + (100 - 98));
  // Without grouping the same queue pairs 10 with 100: far more padding.
  Fixture g(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 2; o.group_by_length = false; }));
  auto held2 = g.hold();
  for (int len : {10, 100, 12, 98}) fs.push_back(g.batcher->submit(len, request([&](BatchRequestOptions& q) { q.length = static_cast<std::size_t>(len); })));
  g.model.open_gate();
  REQUIRE(g.model.wait_batches(3));
  CHECK(g.model.snapshot()[1] == std::vector<int>{10, 100});
  // A token budget below two long requests sends them one at a time.
  Fixture h(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 4; o.max_batch_tokens = 150; }));
  auto held3 = h.hold();
  auto x = h.batcher->submit(100, request([&](BatchRequestOptions& q) { q.length = 100; }));
  auto y = h.batcher->submit(90, request([&](BatchRequestOptions& q) { q.length = 90; }));
  h.model.open_gate();
  REQUIRE(h.model.wait_batches(3));
  CHECK(h.model.snapshot()[1].size() == 1);
}

TEST_CASE("a model function that throws fails every request of its batch") {
  auto clock = BatcherClock::manual();
  Batcher b(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 3; o.max_queue_delay = std::chrono::hours(1); o.clock = clock; }),
            [](std::span<const int* const>, std::span<int>) {
              throw cnai::Error(ErrorCode::internal, "model broke");
            });
  std::vector<std::future<int>> fs;
  for (int i = 0; i < 3; ++i) fs.push_back(b.submit(i));
  for (auto& fut : fs) CHECK(error_of(fut) == ErrorCode::internal);
}

TEST_CASE("shutting down fails queued requests with unavailable; bad options and requests are refused") {
  std::future<int> queued;
  {
    Fixture f(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 1; }));
    auto held = f.hold();
    queued = f.batcher->submit(4);
    f.model.open_gate();  // the held batch finishes; the queued one may or may not run before shutdown
    f.batcher.reset();
  }
  REQUIRE(queued.wait_for(kPatience) == std::future_status::ready);
  int value = 0;
  ErrorCode code = ErrorCode::internal;
  try {
    value = queued.get();
  } catch (const cnai::Error& e) {
    code = e.code();
  }
  CHECK((value == 8 || code == ErrorCode::unavailable));
  auto noop = [](std::span<const int* const>, std::span<int>) {};
  CHECK_THROWS_AS(Batcher(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 0; }), noop), cnai::Error);
  CHECK_THROWS_AS(Batcher(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 4; o.preferred_batch_sizes = {5}; }), noop), cnai::Error);
  CHECK_THROWS_AS(Batcher(batching([&](DynamicBatcherOptions& o) { o.priority_levels = 2; o.default_priority = 3; }), noop), cnai::Error);
  Batcher ok(batching([&](DynamicBatcherOptions& o) { o.priority_levels = 2; }), noop);
  CHECK_THROWS_AS(ok.submit(1, request([&](BatchRequestOptions& q) { q.priority = 3; })), cnai::Error);
  CHECK_THROWS_AS(ok.submit(1, request([&](BatchRequestOptions& q) { q.length = 0; })), cnai::Error);
}

TEST_CASE("many threads on the steady clock: every request answered once, correctly") {
  std::atomic<int> model_calls{0};
  Batcher b(batching([&](DynamicBatcherOptions& o) { o.max_batch_size = 16; o.max_queue_delay = 200us; o.preferred_batch_sizes = {8}; o.max_batch_tokens = 400; }),
            [&](std::span<const int* const> in, std::span<int> out) {
              ++model_calls;
              for (std::size_t i = 0; i < in.size(); ++i) out[i] = *in[i] * 2;
            });
  constexpr int kThreads = 8, kEach = 150;
  std::atomic<int> wrong{0}, cancelled{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::future<int>> fs;
      std::vector<std::stop_source> stops(kEach);
      for (int i = 0; i < kEach; ++i) {
        const int v = t * 1000 + i;
        fs.push_back(b.submit(v, request([&](BatchRequestOptions& q) { q.priority = 0; q.cancel = stops[static_cast<std::size_t>(i)].get_token(); q.caller = static_cast<std::uint64_t>(t + 1); q.length = static_cast<std::size_t>(1 + v % 37); })));
        if (i % 10 == 3) stops[static_cast<std::size_t>(i)].request_stop();
      }
      for (int i = 0; i < kEach; ++i) {
        try {
          if (fs[static_cast<std::size_t>(i)].get() != 2 * (t * 1000 + i)) ++wrong;
        } catch (const cnai::Error& e) {
          if (e.code() == ErrorCode::cancelled) ++cancelled; else ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
  const auto s = b.stats();
  CHECK(s.items + static_cast<std::uint64_t>(cancelled.load()) == kThreads * kEach);
  CHECK(s.cancelled == static_cast<std::uint64_t>(cancelled.load()));
  CHECK(s.batches == static_cast<std::uint64_t>(model_calls.load()));
  CHECK(s.queued == 0);
}
