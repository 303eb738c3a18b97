// Embeddings on the set-up's all-MiniLM-L6-v2 ($CNAI_EMBEDDING_MODEL, default the
// Q8_0 file): sentences/s with 1, 8, 32 and 128 concurrent callers, each sending
// one ~30-token sentence per request (the batcher gathers them into shared
// passes), and 512-token passages; the encoder alone on a ready-made batch; and
// the DynamicBatcher's own cost per request around a model function that does
// nothing. benchmarks/compare_embeddings_llama.py runs this beside llama.cpp.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench_env.hpp"
#include "cnai/engine/dynamic_batcher.hpp"
#include "cnai/engine/local_engine.hpp"
#include "cnai/text/tokenizer.hpp"

namespace {

std::string model_path() {
  if (const char* p = std::getenv("CNAI_EMBEDDING_MODEL"); p && *p) return p;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.cache/cnai/models/all-MiniLM-L6-v2.Q8_0.gguf";
}

std::shared_ptr<cnai::LocalEngine> engine(benchmark::State& state) {
  static std::shared_ptr<cnai::LocalEngine> e = [] {
    std::shared_ptr<cnai::LocalEngine> loaded;
    if (std::filesystem::is_regular_file(model_path())) {
      cnai::LocalEngineOptions o;
      o.model.threads = 2;
      cnai::bench::apply_env(o.model);  // CNAI_ISA, CNAI_PACK=0 (the encoder follows options.model.repack)
      // CNAI_PRECISE_ACTIVATIONS=0: one integer pass per matmul (EncoderOptions).
      const char* precise = std::getenv("CNAI_PRECISE_ACTIVATIONS");
      o.embedding.encoder.precise_activations = !(precise && std::string(precise) == "0");
      loaded = cnai::LocalEngine::load(model_path(), o);
    }
    return loaded;
  }();
  if (!e) state.SkipWithError(("embedding model missing at " + model_path() + " (scripts/fetch_embedding_model.sh)").c_str());
  return e;
}

// 64 different sentences of 28-32 tokens ([CLS]/[SEP] included), as
// compare_embeddings_llama.py sends llama.cpp.
const std::vector<std::string>& sentences() {
  static const std::vector<std::string> s = [] {
    const char* subjects[] = {"The committee", "A young engineer", "Our small team", "The old library",
                              "Every morning the baker", "The research group", "My neighbour", "The city council"};
    const char* middles[] = {"carefully reviewed the proposal about renewable energy and public transport",
                             "decided to publish the results of the long experiment on plant growth",
                             "spent the whole afternoon discussing how to improve the local school",
                             "wrote a detailed report on the history of the river and its bridges",
                             "organised a festival with music, food and games for every family",
                             "measured the temperature of the lake at dawn for several weeks",
                             "repaired the broken clock tower after the storm last winter",
                             "compared three different methods for sorting large lists of numbers"};
    std::vector<std::string> out;
    for (const char* a : subjects)
      for (const char* b : middles) out.push_back(std::string(a) + " " + b + " before the end of the very busy month of September.");
    return out;
  }();
  return s;
}

std::string passage() {
  std::string p;
  for (const auto& s : sentences()) p += s + " ";
  return p;  // well over 512 tokens: requests truncate it to exactly 512
}

// One request of one input per iteration, from state.threads() callers at once.
void BM_embed_sentences(benchmark::State& state) {
  auto e = engine(state);
  if (!e) return;
  const auto& s = sentences();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 7;
  std::int64_t tokens = 0;
  for (auto _ : state) {
    cnai::EmbeddingRequest r;
    r.input = {s[i++ % s.size()]};
    tokens += e->embeddings(r).usage.prompt_tokens;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["tokens_per_sentence"] = benchmark::Counter(static_cast<double>(tokens) / static_cast<double>(state.iterations()), benchmark::Counter::kAvgThreads);
}

void BM_embed_passages(benchmark::State& state) {
  auto e = engine(state);
  if (!e) return;
  cnai::EmbeddingRequest r;
  r.input = {passage()};
  r.truncate = true;
  for (auto _ : state) benchmark::DoNotOptimize(e->embeddings(r));
  state.SetItemsProcessed(state.iterations());
}

// The encoder on 32 sentences in one call: the compute the batcher feeds.
void BM_encoder_batch32(benchmark::State& state) {
  auto e = engine(state);
  if (!e) return;
  const cnai::EmbeddingEngine& ee = *e->embedding_engine();
  std::vector<std::vector<std::int32_t>> ids;
  for (std::size_t i = 0; i < 32; ++i) ids.push_back(ee.tokenize(sentences()[i], false));
  std::vector<std::span<const std::int32_t>> seqs(ids.begin(), ids.end());
  std::vector<float> out(32 * 384);
  for (auto _ : state) ee.model().embed(seqs, out);
  state.SetItemsProcessed(state.iterations() * 32);
}

// The batcher alone: submit and wait for one request around a model function
// that does nothing, from 1 or 8 callers.
void BM_batcher_overhead(benchmark::State& state) {
  static auto* batcher = [] {
    cnai::DynamicBatcherOptions o;
    o.max_batch_size = 64;
    return new cnai::DynamicBatcher<int, int>(o, [](std::span<const int* const> in, std::span<int> out) {
      for (std::size_t i = 0; i < in.size(); ++i) out[i] = *in[i];
    });
  }();  // lives until exit: every thread-count run shares it
  int v = 0;
  for (auto _ : state) benchmark::DoNotOptimize(batcher->submit(v++).get());
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_embed_sentences)->Threads(1)->Threads(8)->Threads(32)->Threads(128)->UseRealTime()->MinTime(3.0);
BENCHMARK(BM_embed_passages)->Threads(1)->Threads(8)->Threads(32)->UseRealTime()->MinTime(3.0);
BENCHMARK(BM_encoder_batch32)->UseRealTime()->MinTime(3.0)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_batcher_overhead)->Threads(1)->Threads(8)->UseRealTime()->MinTime(1.0);

BENCHMARK_MAIN();
