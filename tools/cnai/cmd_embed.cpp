// `cnai embed [-m MODEL] TEXT... [--json]`: embeddings of each TEXT on a local
// encoder model (the set-up's all-MiniLM-L6-v2 unless -m), through the engine's
// batcher as a library host would call it.
#include <cmath>
#include <cstdio>
#include <string>

#include "cli.hpp"
#include "cnai/api/json.hpp"
#include "cnai/core/error.hpp"
#include "cnai/engine/local_engine.hpp"

namespace {

constexpr const char* kUsage =
    "usage: cnai embed [-m MODEL] TEXT... [--json] [--truncate] [--pooling P] [--no-normalize] [--single-pass] [-t N]\n"
    "  -m MODEL     a GGUF encoder (default: $CNAI_EMBEDDING_MODEL, else the set-up's all-MiniLM-L6-v2)\n"
    "  --json       print the OpenAI embeddings response (object \"list\", data, usage)\n"
    "  --truncate   cut inputs longer than the model's context instead of failing\n"
    "  --pooling mean|cls|last   instead of the model's pooling\n"
    "  --no-normalize            skip the L2 normalisation the model asks for\n"
    "  --single-pass             integer matmuls in one pass over 8-bit activations, as llama.cpp: about\n"
    "                            twice the throughput, less precise on short inputs (default: two passes)\n";

cnai::Pooling pooling_from(const std::string& s) {
  if (s == "mean") return cnai::Pooling::mean;
  if (s == "cls") return cnai::Pooling::cls;
  if (s == "last") return cnai::Pooling::last;
  throw cnai::Error(cnai::ErrorCode::invalid_argument, "--pooling must be mean, cls or last, got '" + s + "'");
}

void print_text(const cnai::EmbeddingResponse& r, const std::vector<std::string>& inputs) {
  for (std::size_t i = 0; i < r.data.size(); ++i) {
    const auto& v = r.data[i];
    double norm = 0;
    for (float x : v) norm += double(x) * x;
    std::printf("[%zu] %zu dims, |v| = %.4f:", i, v.size(), std::sqrt(norm));
    for (std::size_t k = 0; k < v.size() && k < 8; ++k) std::printf(" %.5f", v[k]);
    std::printf("%s  (%s)\n", v.size() > 8 ? " ..." : "", inputs[i].size() > 40 ? (inputs[i].substr(0, 37) + "...").c_str()
                                                                                : inputs[i].c_str());
  }
  std::printf("%lld tokens, model %s\n", static_cast<long long>(r.usage.prompt_tokens), r.model.c_str());
}

int run_embed(const std::vector<std::string>& argv) {
  const cnai::cli::Args args(argv, {"--json", "--truncate", "--no-normalize", "--single-pass", "-h", "--help"});
  if (args.has("-h") || args.has("--help")) {
    std::printf("%s", kUsage);
    return 0;
  }
  if (args.positionals().empty()) throw cnai::Error(cnai::ErrorCode::invalid_argument, kUsage);
  const std::string path = args.get_or("-m", args.get_or("--model", cnai::cli::default_embedding_model_path()));
  cnai::LocalEngineOptions options;
  options.model.threads = static_cast<int>(args.get_int("-t", args.get_int("--threads", 0)));
  cnai::cli::apply_model_env(options.model);  // CNAI_ISA, CNAI_PACK=0 (the encoder follows options.model.repack)
  if (auto p = args.get("--pooling")) options.embedding.encoder.pooling = pooling_from(*p);
  if (args.has("--no-normalize")) options.embedding.encoder.normalize = false;
  if (args.has("--single-pass")) options.embedding.encoder.precise_activations = false;
  const auto engine = cnai::LocalEngine::load(path, options);
  cnai::EmbeddingRequest request;
  request.input = args.positionals();
  request.truncate = args.has("--truncate");
  const cnai::EmbeddingResponse response = engine->embeddings(request);
  if (args.has("--json")) {
    std::printf("%s\n", cnai::to_openai_json(response).c_str());
  } else {
    print_text(response, request.input);
  }
  return 0;
}

const bool registered = cnai::cli::register_command({"embed", "embeddings of texts on a local encoder model", &run_embed});

}  // namespace
