// `cnai complete`: plain text completion, no chat template — for base models
// such as Gemma 3 270M: the prompt (with BOS when the vocabulary adds one) is
// continued token by token and streamed to stdout until an end-of-generation
// token or -n tokens.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"
#include "cnai/core/error.hpp"
#include "cnai/engine/sampler.hpp"
#include "cnai/model/model.hpp"
#include "cnai/text/stream_decoder.hpp"
#include "cnai/text/tokenizer.hpp"

namespace {

int run_complete(const std::vector<std::string>& argv) {
  const cnai::cli::Args args(argv, {});
  auto prompt = args.get("-p");
  if (!prompt) prompt = args.get("--prompt");
  if (!prompt) {
    std::fprintf(stderr, "usage: cnai complete [-m MODEL] -p TEXT [-n 64] [--temperature 0] [--top-k K] [--top-p P]\n"
                         "                     [--min-p P] [--repeat-penalty R] [--seed S] [-t N] [-c N_CTX]\n");
    return 2;
  }
  const std::string path = cnai::cli::model_path(args);
  const auto tokenizer = cnai::Tokenizer::from_gguf(path);
  cnai::ModelOptions mo;
  mo.threads = static_cast<int>(args.get_int("-t", 0));
  mo.n_ctx = static_cast<int>(args.get_int("-c", 0));
  const auto model = cnai::Model::load(path, mo);
  cnai::Context ctx(model);
  cnai::SamplerConfig sc;
  sc.temperature = static_cast<float>(args.get_double("--temperature", 0.0));
  sc.top_k = static_cast<int>(args.get_int("--top-k", 0));
  sc.top_p = static_cast<float>(args.get_double("--top-p", 1.0));
  sc.min_p = static_cast<float>(args.get_double("--min-p", 0.0));
  sc.repetition_penalty = static_cast<float>(args.get_double("--repeat-penalty", 1.0));
  sc.seed = static_cast<std::uint64_t>(args.get_int("--seed", 0));
  cnai::Sampler sampler(sc, ctx.n_vocab());
  const std::int64_t n_predict = args.get_int("-n", 64);

  const std::vector<std::int32_t> ids = tokenizer.encode(*prompt);
  if (ids.empty()) throw cnai::Error(cnai::ErrorCode::invalid_argument, "-p: the prompt has no tokens");
  std::printf("%s", prompt->c_str());
  const auto t0 = std::chrono::steady_clock::now();
  std::span<const float> logits = ctx.eval(ids);
  const auto t1 = std::chrono::steady_clock::now();
  cnai::StreamDecoder decoder(tokenizer);
  std::int64_t generated = 0;
  for (; generated < n_predict && ctx.n_past() < ctx.n_ctx(); ++generated) {
    const std::int32_t next = sampler.sample(logits);
    if (tokenizer.is_eog(next)) break;
    sampler.accept(next);
    std::printf("%s", decoder.push(next).c_str());
    std::fflush(stdout);
    logits = ctx.eval(std::span<const std::int32_t>(&next, 1));
  }
  std::printf("%s\n", decoder.flush().c_str());
  const auto t2 = std::chrono::steady_clock::now();
  const double prefill = std::chrono::duration<double>(t1 - t0).count(), decode = std::chrono::duration<double>(t2 - t1).count();
  std::fprintf(stderr, "prompt %zu tokens (%.1f tokens/s), completion %lld tokens (%.1f tokens/s)\n", ids.size(),
               static_cast<double>(ids.size()) / prefill, static_cast<long long>(generated),
               decode > 0 ? static_cast<double>(generated) / decode : 0.0);
  return 0;
}

const bool registered = cnai::cli::register_command(
    {"complete", "continue a text with a local model, no chat template (base models)", &run_complete});

}  // namespace
