// Tokenizer encoding throughput (MB/s) on ~1 MB of mixed English prose, code
// and non-Latin text, with the starcoder vocab (same pre-tokenizer as SmolLM2)
// and the llama SentencePiece vocab from the shared test data.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "cnai/text/tokenizer.hpp"

namespace {

std::string vocab_path(const char* name) {
  const char* env = std::getenv("CNAI_SHARED_DATA_DIR");
  const std::filesystem::path dir = env != nullptr ? env : CNAI_SHARED_DATA_DIR;
  return (dir / "tokenizer" / name).string();
}

// About 1 MB: the paragraphs repeat with a counter so words and numbers vary.
std::string mixed_text() {
  static const char* parts[] = {
      "The quick brown fox jumps over the lazy dog, while the committee's report (published in 2024) "
      "argued that tokenization speed rarely limits inference, except when prompts are long.\n",
      "for (std::size_t i = 0; i < tokens.size(); ++i) {\n    if (tokens[i] == eos_id) { break; }\n"
      "    total += scores[i] * 0.5f;  // weighted sum\n}\n",
      "def encode(text: str) -> list[int]:\n    return [vocab.get(w, unk) for w in text.split()]\n\n",
      "\xE6\x88\x91\xE6\x83\xB3\xE5\x9C\xA8" "apple\xE5\xB7\xA5\xE4\xBD\x9C 1314151\xE5\xA4\xA9 "
      "\xD0\xBD\xD0\xB5\xD1\x89\xD0\xBE \xD0\xBD\xD0\xB0 \xD0\x91\xD1\x8A\xD0\xBB\xD0\xB3\xD0\xB0\xD1\x80\xD1\x81\xD0\xBA\xD0\xB8 "
      "\xF0\x9F\x9A\x80 \xF0\x9F\xA6\x99 caf\xC3\xA9 na\xC3\xAFve \xE2\x80\x94 done.\n",
  };
  std::string text;
  for (int n = 0; text.size() < (1u << 20); ++n) {
    text += parts[n % 4];
    if (n % 4 == 3) text += "Section " + std::to_string(n) + ":\n";
  }
  return text;
}

void encode_benchmark(benchmark::State& state, const char* vocab) {
  const std::string path = vocab_path(vocab);
  if (!std::filesystem::exists(path)) {
    state.SkipWithError(("vocab not found: " + path).c_str());
    return;
  }
  const auto tokenizer = cnai::Tokenizer::from_gguf(path);
  const std::string text = mixed_text();
  std::size_t tokens = 0;
  for (auto _ : state) {
    const auto ids = tokenizer.encode(text, {.add_special = false});
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["bytes/token"] = static_cast<double>(text.size()) / static_cast<double>(tokens);
}

void BM_EncodeStarcoder(benchmark::State& state) { encode_benchmark(state, "ggml-vocab-starcoder.gguf"); }
void BM_EncodeLlamaSpm(benchmark::State& state) { encode_benchmark(state, "ggml-vocab-llama-spm.gguf"); }
BENCHMARK(BM_EncodeStarcoder)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeLlamaSpm)->Unit(benchmark::kMillisecond);

void BM_DecodeStarcoder(benchmark::State& state) {
  const std::string path = vocab_path("ggml-vocab-starcoder.gguf");
  if (!std::filesystem::exists(path)) {
    state.SkipWithError(("vocab not found: " + path).c_str());
    return;
  }
  const auto tokenizer = cnai::Tokenizer::from_gguf(path);
  const std::string text = mixed_text();
  const auto ids = tokenizer.encode(text, {.add_special = false});
  for (auto _ : state) {
    const std::string out = tokenizer.decode(ids);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_DecodeStarcoder)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
