// GgufReader::open on the default model: mapping plus full metadata parse
// (49152 vocabulary strings, 48900 merges) and tensor-info validation.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "cnai/gguf/gguf.hpp"

namespace {

std::string model_path() {
  if (const char* p = std::getenv("CNAI_MODEL"); p && *p) return p;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.cache/cnai/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

void BM_GgufOpenDefaultModel(benchmark::State& state) {
  const std::string path = model_path();
  if (!std::filesystem::is_regular_file(path)) {
    state.SkipWithError(("default model missing at " + path).c_str());
    return;
  }
  for (auto _ : state) {
    auto reader = cnai::GgufReader::open(path);
    benchmark::DoNotOptimize(reader.tensors().size());
  }
}
BENCHMARK(BM_GgufOpenDefaultModel)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
