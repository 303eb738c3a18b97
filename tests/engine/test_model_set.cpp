// Several local models in one process: loaded on first use, one shared
// compute pool, least recently used idle engines unloaded under a memory
// cap, requests routed by model name (SmolLM2 and Gemma 3 270M).
#include <doctest/doctest.h>

#include <filesystem>
#include <thread>

#include "cnai/core/error.hpp"
#include "cnai/core/thread_pool.hpp"
#include "cnai/engine/local_model_set.hpp"
#include "support/default_model.hpp"

namespace {

std::optional<std::pair<std::string, std::string>> model_paths() {
  auto smol = cnai::testing::default_model_or_skip();
  if (!smol) return std::nullopt;
  auto gemma = cnai::testing::gemma_model_or_skip();
  if (!gemma) return std::nullopt;
  return std::make_pair(*smol, *gemma);
}

constexpr std::size_t kPool = std::size_t{32} << 20;  // KV pool of each engine

cnai::LocalModelSetOptions two_models(const std::pair<std::string, std::string>& paths, std::size_t cap) {
  cnai::LocalModelSetOptions o;
  o.threads = 2;
  o.memory_cap_bytes = cap;
  cnai::LocalEngineOptions smol{.n_ctx = 512, .kv_pool_bytes = kPool};
  cnai::LocalEngineOptions gemma{.n_ctx = 512, .kv_pool_bytes = kPool, .chatml_fallback = true};
  o.models = {{"smol", paths.first, smol}, {"gemma", paths.second, gemma}};
  return o;
}

cnai::ChatRequest ask(const std::string& model, const std::string& text) {
  cnai::ChatRequest r;
  r.model = model;
  r.messages = {cnai::Message::user(text)};
  r.sampling.temperature = 0.0f;
  r.max_tokens = 8;
  return r;
}

}  // namespace

TEST_CASE("a model set loads on first use, shares one pool and routes by model name") {
  const auto paths = model_paths();
  if (!paths) return;
  cnai::LocalModelSet set(two_models(*paths, 0));
  CHECK(set.loaded().empty());
  CHECK(set.capabilities().models == std::vector<std::string>{"smol", "gemma"});
  const cnai::ChatResponse a = set.chat(ask("smol", "What is the capital of France?"));
  CHECK(a.model == "smol");
  CHECK(a.usage.completion_tokens > 0);
  CHECK(set.loaded() == std::vector<std::string>{"smol"});
  // Both at once from two threads, each the same as alone.
  const auto gemma_alone = set.chat(ask("gemma", "The capital of France is")).choices[0].token_ids;
  cnai::ChatResponse s2, g2;
  std::thread t1([&] { s2 = set.chat(ask("smol", "What is the capital of France?")); });
  std::thread t2([&] { g2 = set.chat(ask("gemma", "The capital of France is")); });
  t1.join();
  t2.join();
  CHECK(s2.choices[0].token_ids == a.choices[0].token_ids);
  CHECK(g2.choices[0].token_ids == gemma_alone);
  CHECK(&set.engine("smol")->model().pool() == &set.pool());
  CHECK(&set.engine("gemma")->model().pool() == &set.pool());
  CHECK(set.loaded() == std::vector<std::string>{"gemma", "smol"});
  try {
    set.chat(ask("nope", "Hi"));
    FAIL("expected not_found");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == cnai::ErrorCode::not_found);
    CHECK(std::string(e.what()).find("smol") != std::string::npos);
  }
  CHECK_THROWS_AS(cnai::LocalModelSet(cnai::LocalModelSetOptions{}), cnai::Error);
}

TEST_CASE("under a memory cap the least recently used idle model is unloaded, a busy one never") {
  const auto paths = model_paths();
  if (!paths) return;
  // Room for the larger model alone.
  const std::size_t cap = std::max(std::filesystem::file_size(paths->first), std::filesystem::file_size(paths->second)) +
                          kPool + (std::size_t{8} << 20);
  cnai::LocalModelSet set(two_models(*paths, cap));
  set.chat(ask("smol", "Hi"));
  CHECK(set.loaded() == std::vector<std::string>{"smol"});
  set.chat(ask("gemma", "Hello"));
  CHECK(set.loaded() == std::vector<std::string>{"gemma"});
  CHECK(set.loaded_bytes() <= cap);
  // Held by someone (a request in flight): not unloaded, the cap is exceeded.
  auto busy = set.engine("gemma");
  set.chat(ask("smol", "Hi"));
  CHECK(set.loaded() == std::vector<std::string>{"smol", "gemma"});
  busy.reset();
  set.chat(ask("smol", "Hi again"));
  set.engine("gemma");  // loading again unloads smol, now idle
  CHECK(set.loaded() == std::vector<std::string>{"gemma"});
}
