// End-to-end generation on the real default model: chat answers, multi-turn
// history, streaming == non-streaming, stops, limits, cancellation, prefix
// reuse and context overflow.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/engine/local_engine.hpp"
#include "cnai/text/tokenizer.hpp"
#include "support/default_model.hpp"

namespace {

using cnai::ChatChunk;
using cnai::ChatRequest;
using cnai::ChatResponse;
using cnai::ErrorCode;
using cnai::FinishReason;
using cnai::LocalEngine;
using cnai::Role;

// With a system message, as llama.cpp answers too: without one the template's
// default system prompt makes both greedily answer the France question in French.
ChatRequest ask(std::string question, int max_tokens = 48) {
  ChatRequest r;
  r.messages.push_back(cnai::Message::make(Role::system, "You are a helpful assistant."));
  r.messages.push_back(cnai::Message::make(Role::user, std::move(question)));
  r.sampling.temperature = 0.0f;
  r.max_tokens = max_tokens;
  return r;
}

std::shared_ptr<LocalEngine> load_engine(bool reuse_prefix = true, int n_ctx = 1024, int max_sequences = 16) {
  auto path = cnai::testing::default_model_or_skip();
  if (!path) return nullptr;
  cnai::LocalEngineOptions o;
  o.model.threads = 2;
  o.n_ctx = n_ctx;
  o.reuse_prefix = reuse_prefix;
  o.max_sequences = max_sequences;
  return LocalEngine::load(*path, o);
}

std::string text_of(const ChatResponse& r) { return r.choices.at(0).message.content; }

}  // namespace

TEST_CASE("greedy answer to the capital of France names Paris") {
  auto engine = load_engine();
  if (!engine) return;
  const ChatResponse r = engine->chat(ask("What is the capital of France?"));
  INFO("answer: " << text_of(r));
  CHECK(text_of(r).find("Paris") != std::string::npos);
  CHECK(r.backend == "local");
  CHECK(r.choices.at(0).message.role == Role::assistant);
  CHECK(r.choices.at(0).finish_reason == FinishReason::stop);
  // Usage counts what was really fed and produced.
  const auto prompt = engine->tokenize_prompt(engine->render_prompt(ask("What is the capital of France?")));
  CHECK(r.usage.prompt_tokens == static_cast<std::int64_t>(prompt.size()));
  CHECK(r.usage.completion_tokens == static_cast<std::int64_t>(r.choices[0].token_ids.size()));
  CHECK(r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens);
  // Finished by an end-of-turn token, which is counted but not part of the text.
  CHECK(engine->tokenizer().is_eog(r.choices[0].token_ids.back()));
  const std::vector<std::int32_t> text_ids(r.choices[0].token_ids.begin(), r.choices[0].token_ids.end() - 1);
  CHECK(engine->tokenizer().decode(text_ids) == text_of(r));
  CHECK(r.timings.time_to_first_token_ms > 0.0);
  CHECK(r.timings.time_to_first_token_ms <= r.timings.total_ms);
  CHECK(r.timings.completion_tokens_per_s > 0.0);
}

TEST_CASE("the prompt is the model's ChatML template with the generation prompt") {
  auto engine = load_engine();
  if (!engine) return;
  ChatRequest r = ask("Hi");
  r.messages[0].content = "Be brief.";
  CHECK(engine->render_prompt(r) ==
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  // Without a system message the model's template inserts its own.
  ChatRequest bare;
  bare.messages.push_back(cnai::Message::make(Role::user, "Hi"));
  CHECK(engine->render_prompt(bare) ==
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  const auto ids = engine->tokenize_prompt(engine->render_prompt(r));
  // <|im_start|> is one control token, not split into characters.
  CHECK(engine->tokenizer().token_to_piece(ids.at(0)) == "<|im_start|>");
}

TEST_CASE("a three-turn conversation uses the earlier turns") {
  auto engine = load_engine();
  if (!engine) return;
  ChatRequest r = ask("I have a dog called Pepper.");
  r.messages.push_back(cnai::Message::make(Role::assistant, text_of(engine->chat(r))));
  r.messages.push_back(cnai::Message::make(Role::user, "What color is the sky?"));
  r.messages.push_back(cnai::Message::make(Role::assistant, text_of(engine->chat(r))));
  r.messages.push_back(cnai::Message::make(Role::user, "What is the name of my dog?"));
  const ChatResponse third = engine->chat(r);
  INFO("third answer: " << text_of(third));
  CHECK(text_of(third).find("Pepper") != std::string::npos);
  // The history was served from the cache, not evaluated again.
  CHECK(third.usage.cached_prompt_tokens > 20);
  // Without the history the model cannot know the name.
  const ChatResponse alone = engine->chat(ask("What is the name of my dog?"));
  INFO("without history: " << text_of(alone));
  CHECK(text_of(alone).find("Pepper") == std::string::npos);
}

TEST_CASE("streamed text equals the non-streamed text for the same seed") {
  auto engine = load_engine();
  if (!engine) return;
  ChatRequest r = ask("Write a short poem about the sea.", 40);
  r.sampling.temperature = 0.9f;
  r.sampling.top_k = 50;
  r.sampling.seed = 1234;
  const ChatResponse whole = engine->chat(r);
  std::string streamed;
  std::vector<std::int32_t> streamed_ids;
  std::vector<ChatChunk> chunks;
  const ChatResponse assembled = engine->chat_stream(r, [&](const ChatChunk& c) {
    streamed += c.delta_content;
    streamed_ids.insert(streamed_ids.end(), c.token_ids.begin(), c.token_ids.end());
    chunks.push_back(c);
    return true;
  });
  CHECK(streamed == text_of(whole));
  CHECK(text_of(assembled) == text_of(whole));
  CHECK(assembled.choices[0].token_ids == whole.choices[0].token_ids);
  REQUIRE(chunks.size() >= 3);
  CHECK(chunks.front().delta_role == Role::assistant);
  CHECK(chunks.back().finish_reason == whole.choices[0].finish_reason);
  REQUIRE(chunks.back().usage.has_value());
  CHECK(chunks.back().usage->completion_tokens == whole.usage.completion_tokens);
  for (std::size_t i = 0; i + 1 < chunks.size(); ++i) CHECK(chunks[i].finish_reason == FinishReason::none);
  // The ids behind the deltas are the sampled ids (an end-of-turn id excepted).
  auto ids = whole.choices[0].token_ids;
  if (engine->tokenizer().is_eog(ids.back())) ids.pop_back();
  CHECK(streamed_ids == ids);
  // A different seed samples a different text.
  r.sampling.seed = 99;
  CHECK(text_of(engine->chat(r)) != text_of(whole));
}

TEST_CASE("prefix reuse gives the same tokens as a fresh evaluation") {
  auto cached = load_engine(true);
  auto fresh = load_engine(false);
  if (!cached || !fresh) return;
  ChatRequest r = ask("Name three fruits.", 24);
  const ChatResponse first = cached->chat(r);
  r.messages.push_back(cnai::Message::make(Role::assistant, text_of(first)));
  r.messages.push_back(cnai::Message::make(Role::user, "Name three colors."));
  const ChatResponse reused = cached->chat(r);
  const ChatResponse recomputed = fresh->chat(r);
  CHECK(reused.usage.cached_prompt_tokens > 0);
  CHECK(recomputed.usage.cached_prompt_tokens == 0);
  CHECK(reused.choices[0].token_ids == recomputed.choices[0].token_ids);
  // The same request again reuses every full block of 16 positions before
  // the last prompt token (which is evaluated for its logits).
  const ChatResponse again = cached->chat(r);
  CHECK(again.usage.cached_prompt_tokens == (again.usage.prompt_tokens - 1) / 16 * 16);
  CHECK(again.choices[0].token_ids == recomputed.choices[0].token_ids);
}

TEST_CASE("max_tokens ends with finish_reason length after exactly that many tokens") {
  auto engine = load_engine();
  if (!engine) return;
  const ChatResponse r = engine->chat(ask("Tell me a long story about a dragon.", 7));
  CHECK(r.choices[0].finish_reason == FinishReason::length);
  CHECK(r.usage.completion_tokens == 7);
  CHECK(r.choices[0].token_ids.size() == 7);
  CHECK_THROWS_AS(engine->chat(ask("Hi", 0)), cnai::Error);
}

TEST_CASE("a stop sequence ends generation and is not emitted") {
  auto engine = load_engine();
  if (!engine) return;
  const std::string full = text_of(engine->chat(ask("What is the capital of France?")));
  const auto at = full.find("Paris");
  REQUIRE(at != std::string::npos);
  ChatRequest r = ask("What is the capital of France?");
  r.stop = {"aris"};  // ends inside a token: matched on text, not on ids
  std::string streamed;
  const ChatResponse stopped = engine->chat_stream(r, [&](const ChatChunk& c) {
    streamed += c.delta_content;
    return true;
  });
  CHECK(text_of(stopped) == full.substr(0, at + 1));
  CHECK(streamed == text_of(stopped));
  CHECK(stopped.choices[0].finish_reason == FinishReason::stop);
}

TEST_CASE("a prompt longer than the context is context_overflow, with nothing generated") {
  auto engine = load_engine(true, 64);
  if (!engine) return;
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "The quick brown fox jumps. ";
  int chunks = 0;
  try {
    engine->chat_stream(ask(long_text), [&](const ChatChunk&) {
      ++chunks;
      return true;
    });
    FAIL("expected context_overflow");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == ErrorCode::context_overflow);
    CHECK(std::string(e.what()).find("64") != std::string::npos);
  }
  CHECK(chunks == 0);
  // Generation that reaches the end of the context stops with length.
  const ChatResponse r = engine->chat(ask("Write the numbers from 1 to 100, separated by commas.", 1000));
  CHECK(r.choices[0].finish_reason == FinishReason::length);
  CHECK(r.usage.total_tokens <= 64 + 1);
}

TEST_CASE("cancelling from the callback stops generation; the engine stays usable") {
  auto engine = load_engine();
  if (!engine) return;
  int chunks = 0;
  try {
    engine->chat_stream(ask("Tell me a long story about a dragon.", 200), [&](const ChatChunk&) { return ++chunks < 3; });
    FAIL("expected cancelled");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == ErrorCode::cancelled);
  }
  CHECK(chunks == 3);
  CHECK(text_of(engine->chat(ask("What is the capital of France?"))).find("Paris") != std::string::npos);
}

TEST_CASE("a passed deadline is a timeout; bad requests are typed errors") {
  auto engine = load_engine();
  if (!engine) return;
  ChatRequest r = ask("Tell me a long story about a dragon.", 200);
  r.deadline = std::chrono::steady_clock::now();
  try {
    engine->chat(r);
    FAIL("expected timeout");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == ErrorCode::timeout);
  }
  ChatRequest empty;
  try {
    engine->chat(empty);
    FAIL("expected invalid_argument");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
  }
  ChatRequest json = ask("Hi");
  json.response_format = cnai::ResponseFormat{};
  json.response_format->type = "json_object";
  try {
    engine->chat(json);
    FAIL("expected unsupported");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == ErrorCode::unsupported);
  }
}

TEST_CASE("a stop token cancels a non-streaming chat from another thread; the engine answers afterwards") {
  auto engine = load_engine();
  if (!engine) return;
  ChatRequest long_one = ask("Write a long story about a dragon who learns to paint.", 4000);
  long_one.sampling.temperature = 0.8f;
  std::stop_source stop;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    stop.request_stop();
  });
  const auto t0 = std::chrono::steady_clock::now();
  ErrorCode code = ErrorCode::internal;
  try {
    engine->chat(long_one, stop.get_token());
  } catch (const cnai::Error& e) {
    code = e.code();
  }
  canceller.join();
  CHECK(code == ErrorCode::cancelled);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
  CHECK(text_of(engine->chat(ask("What is the capital of France?"))).find("Paris") != std::string::npos);
}

TEST_CASE("the engine as a Backend: name, capabilities, health") {
  auto engine = load_engine();
  if (!engine) return;
  cnai::Backend& b = *engine;
  CHECK(b.name() == "local");
  const cnai::BackendCapabilities c = b.capabilities();
  CHECK(c.local);
  CHECK(c.streaming);
  CHECK(c.context_window == engine->n_ctx());
  CHECK_FALSE(c.tools);
  CHECK(b.health().status == cnai::HealthStatus::healthy);
  CHECK(b.health().running == 0);
}

TEST_CASE("time spent waiting for the engine is queue time, not prefill") {
  // One sequence at a time, so the second request waits for the first.
  auto engine = load_engine(/*reuse_prefix=*/false, 1024, /*max_sequences=*/1);
  if (!engine) return;
  std::atomic<bool> started{false};
  std::thread first([&] {
    engine->chat_stream(ask("Tell me a long story about a dragon.", 48), [&](const ChatChunk&) {
      started = true;
      return true;
    });
  });
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const ChatResponse second = engine->chat(ask("What is the capital of France?", 8));
  first.join();
  const cnai::Timings& t = second.timings;
  // It waited for the first request's remaining tokens (tens of ms at least).
  CHECK(t.queue_ms > 10.0);
  const double prefill_ms = 1000.0 * static_cast<double>(second.usage.prompt_tokens) / t.prompt_tokens_per_s;
  CHECK(t.queue_ms + prefill_ms <= t.time_to_first_token_ms + 1.0);
  CHECK(t.time_to_first_token_ms <= t.total_ms);
}
