// LocalEngineOptions: designated initialisers, the defaults the CLI shares,
// default_max_tokens applied to chat requests that set none, and the
// library's default model path.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "cnai/cnai.hpp"
#include "support/default_model.hpp"

TEST_CASE("LocalEngineOptions takes designated initialisers and holds llama.cpp's sampling defaults") {
  const cnai::LocalEngineOptions o{.n_ctx = 2048, .reuse_prefix = false, .backend_name = "edge"};
  CHECK(o.n_ctx == 2048);
  CHECK_FALSE(o.reuse_prefix);
  CHECK(o.backend_name == "edge");
  CHECK(o.model.kv_type == cnai::KvCacheType::f16);
  CHECK(o.default_max_tokens == 1024);
  CHECK(o.default_sampling.temperature == 0.8f);
  CHECK(o.default_sampling.top_k == 40);
  CHECK(o.default_sampling.top_p == 0.95f);
  CHECK(o.default_sampling.min_p == 0.05f);
  const cnai::ModelOptions m{.threads = 1};
  CHECK(m.repack);
  CHECK_FALSE(m.isa.has_value());
  CHECK(std::string(CNAI_VERSION_STRING).find('.') != std::string::npos);
}

TEST_CASE("default_cache_dir reads only the lookup it is given; the model paths are in the directory given") {
  using cnai::testing::env_of;
  CHECK(cnai::default_cache_dir(env_of({{"CNAI_CACHE_DIR", "/tmp/c"}, {"HOME", "/home/u"}})) == "/tmp/c");
  CHECK(cnai::default_cache_dir(env_of({{"CNAI_CACHE_DIR", ""}, {"HOME", "/home/u"}})) == "/home/u/.cache/cnai");
  CHECK(cnai::default_cache_dir(env_of({{"HOME", "/home/u"}})) == "/home/u/.cache/cnai");
  CHECK(cnai::default_cache_dir(env_of({})) == "./.cache/cnai");
  CHECK(cnai::default_cache_dir({}) == "./.cache/cnai");
  // Not the process environment: a CNAI_CACHE_DIR set here is not seen through another lookup.
  setenv("CNAI_CACHE_DIR", "/tmp/cnai-cache-test", 1);
  CHECK(cnai::default_cache_dir(env_of({{"HOME", "/h"}})) == "/h/.cache/cnai");
  CHECK(cnai::default_cache_dir(cnai::testing::process_environment) == "/tmp/cnai-cache-test");
  unsetenv("CNAI_CACHE_DIR");
  CHECK(cnai::default_model_path("/tmp/c") == "/tmp/c/models/SmolLM2-135M-Instruct.Q4_1.gguf");
  CHECK(cnai::default_embedding_model_path("/tmp/c") == "/tmp/c/models/all-MiniLM-L6-v2.Q8_0.gguf");
}

TEST_CASE("A chat request without max_tokens stops at default_max_tokens") {
  const auto path = cnai::testing::default_model_or_skip();
  if (!path) return;
  auto engine = cnai::LocalEngine::load(*path, {.model = {.threads = 2}, .n_ctx = 512, .default_max_tokens = 4});
  cnai::ChatRequest r;
  r.messages = {cnai::Message::user("Write a long story about a dragon.")};
  r.sampling.temperature = 0.0f;
  const cnai::ChatResponse out = engine->chat(r);
  CHECK(out.usage.completion_tokens <= 4);
  CHECK(out.choices.at(0).finish_reason == cnai::FinishReason::length);
  r.max_tokens = 6;  // the request's own wins
  CHECK(engine->chat(r).usage.completion_tokens == 6);
}
