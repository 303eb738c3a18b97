// Generation through LocalEngine on the default model: what a chat call costs
// on top of the raw forward pass (template, tokenization, sampling, detokenizing,
// stop matching). Compare with bench_model's decode step.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "bench_env.hpp"
#include "cnai/engine/local_engine.hpp"

namespace {

std::string model_path() {
  if (const char* p = std::getenv("CNAI_MODEL"); p && *p) return p;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.cache/cnai/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

std::shared_ptr<cnai::LocalEngine> engine(benchmark::State& state) {
  static std::shared_ptr<cnai::LocalEngine> e;
  if (!e && std::filesystem::is_regular_file(model_path())) {
    cnai::LocalEngineOptions o;
    o.model.threads = 2;
    cnai::bench::apply_env(o.model);  // CNAI_ISA, CNAI_PACK
    o.n_ctx = 512;
    o.reuse_prefix = false;  // every iteration evaluates the whole prompt
    e = cnai::LocalEngine::load(model_path(), o);
  }
  if (!e) state.SkipWithError(("default model missing at " + model_path() + " (scripts/fetch_model.sh)").c_str());
  return e;
}

// 64 generated tokens after a short chat prompt; without prefix reuse every
// iteration evaluates the whole prompt, so each does the same work.
void generate(benchmark::State& state, cnai::SamplingParams sampling) {
  auto e = engine(state);
  if (!e) return;
  cnai::ChatRequest chat;
  chat.messages = {cnai::Message::user("Tell me a long story about a dragon.")};
  cnai::GenerateRequest g;
  g.prompt = e->tokenize_prompt(e->render_prompt(chat));
  g.sampling = sampling;
  g.max_tokens = 64;
  g.ignore_eog = true;
  g.stop = {"THE END"};
  std::int64_t generated = 0;
  double decode_tps = 0;
  for (auto _ : state) {
    const cnai::GenerateResult r = e->generate(g);
    generated += r.usage.completion_tokens;
    decode_tps += r.timings.completion_tokens_per_s;
  }
  state.counters["tokens_per_s"] = benchmark::Counter(static_cast<double>(generated), benchmark::Counter::kIsRate);
  state.counters["decode_tokens_per_s"] = decode_tps / static_cast<double>(state.iterations());
}

void BM_generate_greedy(benchmark::State& state) {
  cnai::SamplingParams s;
  s.temperature = 0.0f;
  generate(state, s);
}

void BM_generate_sampled(benchmark::State& state) {
  cnai::SamplingParams s;
  s.temperature = 0.8f;
  s.top_k = 40;
  s.top_p = 0.95f;
  s.min_p = 0.05f;
  s.seed = 1;
  generate(state, s);
}

}  // namespace

BENCHMARK(BM_generate_greedy)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);
BENCHMARK(BM_generate_sampled)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

BENCHMARK_MAIN();
