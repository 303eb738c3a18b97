// The Python module's Call (python/src/call.hpp) without Python: a request on
// its own thread handing chunks over through a queue and an eventfd, and
// cancellation through its stop_source. Built into the tests so that the
// ThreadSanitizer and ASan trees check it (the module itself runs under an
// uninstrumented interpreter).
#include <doctest/doctest.h>

#include <poll.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "call.hpp"
#include "cnai/core/error.hpp"
#include "cnai/engine/local_engine.hpp"
#include "support/default_model.hpp"

namespace {

using namespace std::chrono_literals;
using cnai::python::Call;

std::shared_ptr<cnai::LocalEngine> engine() {
  static std::shared_ptr<cnai::LocalEngine> e = [] {
    auto path = cnai::testing::default_model_or_skip();
    cnai::LocalEngineOptions o;
    o.model.threads = 1;
    return path ? cnai::LocalEngine::load(*path, o) : nullptr;
  }();
  return e;
}

cnai::ChatRequest ask(int max_tokens) {
  cnai::ChatRequest r;
  r.messages = {cnai::Message::system("You are a helpful assistant."),
                cnai::Message::user("What is the capital of France?")};
  r.sampling.temperature = 0.0f;
  r.max_tokens = max_tokens;
  return r;
}

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

}  // namespace

TEST_CASE("a streamed call hands over every chunk, then the response") {
  auto e = engine();
  if (!e) return;
  auto call = Call::start_chat(e, ask(24), true);
  std::string text;
  int chunks = 0;
  for (;;) {
    bool timed_out = false;
    auto chunk = call->wait_next(30s, timed_out);
    REQUIRE_FALSE(timed_out);
    if (!chunk) break;
    text += chunk->delta_content;
    ++chunks;
  }
  CHECK(call->finished());
  const cnai::ChatResponse r = call->response();
  CHECK(chunks >= 3);
  CHECK(text == r.choices.at(0).message.content);
  CHECK(text.find("Paris") != std::string::npos);
}

TEST_CASE("the eventfd signals chunks and the end; drain takes them all") {
  auto e = engine();
  if (!e) return;
  auto call = Call::start_chat(e, ask(16), true);
  std::string text;
  bool finished = false;
  while (!finished) {
    REQUIRE(readable(call->fileno(), 30000));
    for (auto& c : call->drain(finished)) text += c.delta_content;
  }
  CHECK_FALSE(readable(call->fileno(), 0));  // drained and ended: nothing more signals
  CHECK(text == call->response().choices.at(0).message.content);
}

TEST_CASE("cancel ends the generation with Error(cancelled)") {
  auto e = engine();
  if (!e) return;
  auto call = Call::start_chat(e, ask(400), true);
  bool timed_out = false;
  REQUIRE(call->wait_next(30s, timed_out));
  call->cancel();
  REQUIRE(call->wait_done(30s));
  try {
    (void)call->response();
    FAIL("a cancelled call returned a response");
  } catch (const cnai::Error& err) {
    CHECK(err.code() == cnai::ErrorCode::cancelled);
  }
}

TEST_CASE("destroying a running call cancels it and joins its thread") {
  auto e = engine();
  if (!e) return;
  const auto t0 = std::chrono::steady_clock::now();
  {
    auto call = Call::start_chat(e, ask(400), false);
    std::this_thread::sleep_for(20ms);
  }
  // 400 tokens take seconds here; the destructor returned at the next step.
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  auto next = Call::start_chat(e, ask(4), false);
  REQUIRE(next->wait_done(30s));
  CHECK(next->response().usage.completion_tokens == 4);
}

TEST_CASE("calls on one engine from many threads all answer") {
  auto e = engine();
  if (!e) return;
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < 3; ++i) calls.push_back(Call::start_chat(e, ask(12), i % 2 == 0));
  std::string first;
  for (auto& c : calls) {
    REQUIRE(c->wait_done(60s));
    bool finished = false;
    (void)c->drain(finished);
    const std::string text = c->response().choices.at(0).message.content;
    if (first.empty()) first = text;
    CHECK(text == first);  // greedy: the same answer whoever else runs
  }
}

TEST_CASE("an embeddings call on a chat model fails as the backend does") {
  auto e = engine();
  if (!e) return;
  cnai::EmbeddingRequest r;
  r.input = {"text"};
  auto call = Call::start_embeddings(e, r);
  REQUIRE(call->wait_done(30s));
  CHECK_THROWS_AS(call->embedding_response(), cnai::Error);
}
