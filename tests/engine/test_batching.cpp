// Continuous batching on the real default model: many threads at once,
// cancellation mid-batch, preemption in a tiny KV pool, the prefix cache,
// deadlines and cancels while queued, overload, priorities and callbacks
// that call back into the engine. Answers are compared token for token with
// the same request run alone (greedy), so a scheduling bug that mixes up,
// drops or repeats tokens fails here.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/engine/local_engine.hpp"
#include "support/default_model.hpp"

namespace {

using cnai::ChatChunk;
using cnai::ChatRequest;
using cnai::ChatResponse;
using cnai::ErrorCode;
using cnai::GenerateRequest;
using cnai::GenerationHandle;
using cnai::LocalEngine;
using cnai::Role;
using Clock = std::chrono::steady_clock;

ChatRequest ask(std::string question, int max_tokens) {
  ChatRequest r;
  r.messages.push_back(cnai::Message::make(Role::system, "You are a helpful assistant."));
  r.messages.push_back(cnai::Message::make(Role::user, std::move(question)));
  r.sampling.temperature = 0.0f;
  r.max_tokens = max_tokens;
  return r;
}

const std::vector<std::string>& questions() {
  static const std::vector<std::string> q = {
      "Tell me a long story about a dragon.",
      "What is the capital of France?",
      "Explain how a bicycle works.",
      "Write a poem about the sea.",
      "List some fruits and their colors.",
      "Why is the sky blue?",
      "Describe your favourite city in detail.",
      "How do I bake bread at home?",
  };
  return q;
}

std::shared_ptr<LocalEngine> load(cnai::LocalEngineOptions o = {}) {
  auto path = cnai::testing::default_model_or_skip();
  if (!path) return nullptr;
  o.model.threads = 2;
  if (o.n_ctx == 0) o.n_ctx = 1024;
  return LocalEngine::load(*path, o);
}

std::vector<std::int32_t> ids(const ChatResponse& r) { return r.choices.at(0).token_ids; }

// Each question alone, one after another: the reference answers.
std::vector<std::vector<std::int32_t>> alone(LocalEngine& e, int max_tokens, std::size_t n = 8) {
  std::vector<std::vector<std::int32_t>> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(ids(e.chat(ask(questions()[i], max_tokens))));
  return out;
}

// All questions from their own threads at once (after `stagger` * i).
std::vector<std::vector<std::int32_t>> together(LocalEngine& e, int max_tokens, std::chrono::milliseconds stagger,
                                                std::size_t n = 8) {
  std::vector<std::vector<std::int32_t>> out(n);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      std::this_thread::sleep_for(stagger * static_cast<int>(i));
      out[i] = ids(e.chat(ask(questions()[i], max_tokens)));
    });
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace

TEST_CASE("batch invariance: 8 greedy answers of 64 tokens are the same alone, at once, staggered and chunked") {
  auto engine = load();
  if (!engine) return;
  const auto ref = alone(*engine, 64);
  for (const auto& r : ref) CHECK(r.size() >= 8);
  const auto before = engine->stats().steps;
  const auto at_once = together(*engine, 64, std::chrono::milliseconds(0));
  for (std::size_t i = 0; i < ref.size(); ++i) {
    INFO("question " << i);
    CHECK(at_once[i] == ref[i]);
  }
  const cnai::EngineStats s = engine->stats();
  // They really shared forward passes: far fewer steps than tokens.
  std::size_t tokens = 0;
  for (const auto& r : ref) tokens += r.size();
  CHECK(s.steps - before < tokens / 2);
  std::uint64_t wide = 0;
  for (std::size_t n = 4; n < s.batch_size_histogram.size(); ++n) wide += s.batch_size_histogram[n];
  CHECK(wide > 0);

  const auto staggered = together(*engine, 64, std::chrono::milliseconds(37));
  for (std::size_t i = 0; i < ref.size(); ++i) {
    INFO("staggered question " << i);
    CHECK(staggered[i] == ref[i]);
  }
  // Prompts cut into small chunks: a budget of 8 rows a step, decode rows first.
  auto chunked = load({.max_batched_tokens = 8, .max_sequences = 8, .reuse_prefix = false});
  const auto small_steps = together(*chunked, 64, std::chrono::milliseconds(5));
  for (std::size_t i = 0; i < ref.size(); ++i) {
    INFO("chunked question " << i);
    CHECK(small_steps[i] == ref[i]);
  }
}

TEST_CASE("many threads submit at once; each stream gets its own complete answer") {
  auto engine = load();
  if (!engine) return;
  const auto ref = alone(*engine, 12);
  constexpr int kThreads = 16;
  std::vector<std::vector<std::int32_t>> got(kThreads);
  std::vector<std::string> streamed(kThreads), whole(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      const ChatRequest r = ask(questions()[static_cast<std::size_t>(t % 8)], 12);
      const ChatResponse resp = engine->chat_stream(r, [&](const ChatChunk& c) {
        streamed[static_cast<std::size_t>(t)] += c.delta_content;
        return true;
      });
      got[static_cast<std::size_t>(t)] = ids(resp);
      whole[static_cast<std::size_t>(t)] = resp.choices[0].message.content;
    });
  for (auto& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t);
    CHECK(got[static_cast<std::size_t>(t)] == ref[static_cast<std::size_t>(t % 8)]);
    CHECK(streamed[static_cast<std::size_t>(t)] == whole[static_cast<std::size_t>(t)]);
  }
  const cnai::EngineStats s = engine->stats();
  CHECK(s.running == 0);
  CHECK(s.queue_depth == 0);
  CHECK(s.kv_blocks_used == 0);
}

TEST_CASE("a stream cancelled mid-batch ends at once with its KV freed; the others are unaffected") {
  auto engine = load();
  if (!engine) return;
  const auto ref = alone(*engine, 24, 4);
  std::atomic<int> chunks{0};
  cnai::ChatHandle victim = engine->submit_chat(ask("Tell me a long story about a dragon.", 400),
                                                [&](const ChatChunk&) {
                                                  ++chunks;
                                                  return true;
                                                });
  std::vector<cnai::ChatHandle> others;
  for (std::size_t i = 0; i < 4; ++i) others.push_back(engine->submit_chat(ask(questions()[i], 24)));
  while (chunks < 4) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto t0 = Clock::now();
  victim.cancel();
  CHECK(victim.wait_for(std::chrono::seconds(5)));
  CHECK(Clock::now() - t0 < std::chrono::milliseconds(500));
  try {
    victim.get();
    FAIL("expected cancelled");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == ErrorCode::cancelled);
  }
  CHECK(victim.stats().generated_tokens < 400);
  for (std::size_t i = 0; i < others.size(); ++i) {
    INFO("stream " << i);
    CHECK(ids(others[i].get()) == ref[i]);
  }
  CHECK(engine->stats().kv_blocks_used == 0);
}

TEST_CASE("preemption in a tiny KV pool: every stream completes with exactly its tokens") {
  auto path = cnai::testing::default_model_or_skip();
  if (!path) return;
  auto roomy = load({.reuse_prefix = false});
  const auto ref = alone(*roomy, 40, 6);
  // 14 blocks of 16 positions: six streams of ~70 positions need ~30.
  const std::size_t block = roomy->stats().kv_block_tokens;
  const auto per_token = static_cast<std::size_t>(2 * 30 * 3 * 64 * 2);  // SmolLM2-135M, F16 K and V
  auto tiny = load({.kv_pool_bytes = 14 * block * per_token, .reuse_prefix = false});
  REQUIRE(tiny->stats().kv_blocks_total == 14);
  const auto got = together(*tiny, 40, std::chrono::milliseconds(0), 6);
  for (std::size_t i = 0; i < ref.size(); ++i) {
    INFO("stream " << i);
    CHECK(got[i] == ref[i]);
  }
  const cnai::EngineStats s = tiny->stats();
  CHECK(s.preemptions > 0);
  CHECK(s.kv_blocks_used == 0);
  // A prompt the whole pool cannot hold is refused at once.
  std::string huge;
  for (int i = 0; i < 60; ++i) huge += "The quick brown fox jumps over the lazy dog. ";
  try {
    tiny->chat(ask(huge, 4));
    FAIL("expected context_overflow");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == ErrorCode::context_overflow);
  }
}

TEST_CASE("the prefix cache shares a long system prompt across requests with exactly the cold tokens") {
  auto cached = load();
  auto cold = load({.reuse_prefix = false});
  if (!cached || !cold) return;
  std::string system = "You are a meticulous assistant for a bakery. ";
  for (int i = 0; i < 12; ++i) system += "Always answer politely, mention the opening hours and keep answers short. ";
  auto with_system = [&](const std::string& q) {
    ChatRequest r = ask(q, 16);
    r.messages[0].content = system;
    return r;
  };
  const ChatResponse first = cached->chat(with_system("Do you sell rye bread?"));
  CHECK(first.usage.cached_prompt_tokens == 0);
  const ChatResponse second = cached->chat(with_system("When do you open on Sunday?"));
  INFO("prompt " << second.usage.prompt_tokens << ", cached " << second.usage.cached_prompt_tokens);
  CHECK(second.usage.cached_prompt_tokens >= 160);  // the system prompt's full blocks
  CHECK(second.usage.cached_prompt_tokens % 16 == 0);
  const ChatResponse second_cold = cold->chat(with_system("When do you open on Sunday?"));
  CHECK(second_cold.usage.cached_prompt_tokens == 0);
  CHECK(ids(second) == ids(second_cold));
  const cnai::EngineStats s = cached->stats();
  CHECK(s.prefix_hit_tokens == static_cast<std::uint64_t>(second.usage.cached_prompt_tokens));
  CHECK(s.prefix_hit_rate > 0.3);
  CHECK(s.kv_blocks_cached > 0);
  // Concurrent requests sharing it get their own cold answers too.
  std::vector<std::string> qs = {"Do you bake croissants?", "Is there parking nearby?", "Can I order a cake?"};
  std::vector<std::vector<std::int32_t>> hot(qs.size()), ref(qs.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < qs.size(); ++i)
    threads.emplace_back([&, i] { hot[i] = ids(cached->chat(with_system(qs[i]))); });
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < qs.size(); ++i) {
    INFO(qs[i]);
    CHECK(hot[i] == ids(cold->chat(with_system(qs[i]))));
  }
}

TEST_CASE("a deadline or a cancel ends a queued request at once, without evaluating it") {
  auto engine = load({.max_batched_tokens = 64, .max_sequences = 1});
  if (!engine) return;
  cnai::ChatHandle busy = engine->submit_chat(ask("Tell me a long story about a dragon.", 300));
  while (busy.stats().phase != cnai::RequestPhase::decode) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ChatRequest late = ask("What is the capital of France?", 8);
  const auto t0 = Clock::now();
  late.deadline = t0 + std::chrono::milliseconds(100);
  cnai::ChatHandle queued = engine->submit_chat(late);
  cnai::ChatHandle dropped = engine->submit_chat(ask("Why is the sky blue?", 8));
  dropped.cancel();
  try {
    queued.get();
    FAIL("expected timeout");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == ErrorCode::timeout);
  }
  const auto waited = Clock::now() - t0;
  CHECK(waited < std::chrono::milliseconds(400));
  CHECK(queued.stats().generated_tokens == 0);
  try {
    dropped.get();
    FAIL("expected cancelled");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == ErrorCode::cancelled);
  }
  CHECK(dropped.stats().generated_tokens == 0);
  CHECK_FALSE(busy.done());
  busy.cancel();
  CHECK_THROWS_AS(busy.get(), cnai::Error);
}

TEST_CASE("a full queue is overloaded at once; equal priorities run in arrival order, higher ones first") {
  auto engine = load({.max_batched_tokens = 64, .max_sequences = 1, .max_queued = 4});
  if (!engine) return;
  cnai::ChatHandle busy = engine->submit_chat(ask("Tell me a long story about a dragon.", 40));
  while (busy.stats().phase != cnai::RequestPhase::decode) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::mutex m;
  std::vector<int> order;
  auto tagged = [&](int tag, int priority) {
    ChatRequest r = ask("Name a color.", 2);
    r.priority = priority;
    return engine->submit_chat(r, [&, tag, first = std::make_shared<bool>(true)](const ChatChunk&) {
      if (*first) {
        std::lock_guard lock(m);
        order.push_back(tag);
      }
      *first = false;
      return true;
    });
  };
  std::vector<cnai::ChatHandle> hs;
  hs.push_back(tagged(1, 0));
  hs.push_back(tagged(2, 0));
  hs.push_back(tagged(3, 0));
  hs.push_back(tagged(4, 5));  // arrives last, runs first among the waiting
  const auto t0 = Clock::now();
  try {
    tagged(5, 0);
    FAIL("expected overloaded");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == ErrorCode::overloaded);
    CHECK(e.retryable());
  }
  CHECK(Clock::now() - t0 < std::chrono::milliseconds(50));
  CHECK(engine->stats().rejected == 1);
  CHECK(engine->health().queue_depth >= 4);
  for (auto& h : hs) h.get();
  busy.get();
  std::lock_guard lock(m);
  CHECK(order == std::vector<int>{4, 1, 2, 3});
}

TEST_CASE("callbacks run outside the engine's locks: they may call back into the engine") {
  auto engine = load();
  if (!engine) return;
  std::atomic<int> inner{0};
  std::atomic<bool> saw_running{false};
  cnai::ChatHandle h = engine->submit_chat(ask("Tell me a long story about a dragon.", 12), [&](const ChatChunk& c) {
    if (engine->stats().running > 0) saw_running = true;
    if (c.finish_reason == cnai::FinishReason::none && inner == 0) {
      ++inner;
      // A nested blocking call from the callback thread.
      inner += static_cast<int>(engine->chat(ask("Name a color.", 3)).usage.completion_tokens);
    }
    return true;
  });
  const ChatResponse r = h.get();
  CHECK(r.usage.completion_tokens == 12);
  CHECK(inner > 1);
  CHECK(saw_running);
  const cnai::BackendHealth health = engine->health();
  CHECK(health.running == 0);
  CHECK(health.queue_depth == 0);
  CHECK(health.estimated_wait_ms > 0);
}

TEST_CASE("gemma3's sliding-window layers under batching: the same tokens alone, together and chunked") {
  const auto gemma = cnai::testing::gemma_model_or_skip();
  if (!gemma) return;
  const std::string& path = *gemma;
  auto load_gemma = [&](int budget) {
    cnai::LocalEngineOptions o;
    o.model.threads = 2;
    o.n_ctx = 1024;
    o.max_batched_tokens = budget;
    o.max_sequences = 8;
    o.chatml_fallback = true;  // a base model: no chat template; prompts are plain text
    return LocalEngine::load(path, o);
  };
  auto engine = load_gemma(256);
  REQUIRE(engine->model().config().sliding_window > 0);
  std::vector<GenerateRequest> reqs;
  auto add = [&](const std::string& text, int max_tokens) {
    GenerateRequest g;
    g.prompt = engine->tokenize_prompt(text);
    g.sampling.temperature = 0.0f;
    g.max_tokens = max_tokens;
    reqs.push_back(g);
  };
  add("Once upon a time, a dragon", 16);
  add("The capital of France is", 16);
  // Longer than the window: its local layers wrap around their ring of blocks.
  std::string notes = "Read these notes and then say what the weather was like.";
  while (engine->tokenize_prompt(notes).size() < static_cast<std::size_t>(engine->model().config().sliding_window) + 80)
    notes += " On Monday it rained, on Tuesday the sun came out and the market was busy.";
  add(notes, 4);
  std::vector<std::vector<std::int32_t>> ref;
  for (const auto& g : reqs) ref.push_back(engine->generate(g).tokens);
  for (int budget : {256, 64}) {
    auto e = budget == 256 ? engine : load_gemma(budget);
    std::vector<GenerationHandle> hs;
    for (const auto& g : reqs) hs.push_back(e->submit(g));
    for (std::size_t i = 0; i < hs.size(); ++i) {
      INFO("budget " << budget << ", request " << i);
      CHECK(hs[i].get().tokens == ref[i]);
    }
  }
}
