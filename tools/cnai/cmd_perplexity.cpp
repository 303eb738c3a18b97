// `cnai perplexity`: perplexity of a model on a text file, chunked exactly as
// llama.cpp's llama-perplexity does, so the two compare on the same file: the
// text (with BOS when the vocabulary adds one) is cut into n_ctx-token chunks,
// each chunk starts a fresh context with its first token replaced by BOS (when
// the vocabulary adds one), and only the second half of each chunk is scored.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"
#include "cnai/core/error.hpp"
#include "cnai/model/model.hpp"
#include "cnai/text/tokenizer.hpp"

namespace {

// −log softmax(logits)[target], in double.
double nll(std::span<const float> logits, std::int32_t target) {
  const float mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - mx);
  return std::log(sum) - (static_cast<double>(logits[static_cast<std::size_t>(target)]) - mx);
}

int run_perplexity(const std::vector<std::string>& argv) {
  const cnai::cli::Args args(argv, {});
  const auto file = args.get("-f");
  if (!file) {
    std::fprintf(stderr, "usage: cnai perplexity [-m MODEL] -f TEXT_FILE [-c N_CTX=512] [-b N_BATCH] [-t N] "
                         "[--chunks N]\n");
    return 2;
  }
  const std::string path = cnai::cli::model_path(args);
  const int n_ctx = static_cast<int>(args.get_int("-c", 512));
  if (n_ctx < 4) throw cnai::Error(cnai::ErrorCode::invalid_argument, "-c must be at least 4");
  const auto tokenizer = cnai::Tokenizer::from_gguf(path);
  const std::vector<std::int32_t> tokens = tokenizer.encode(cnai::cli::read_file(*file));
  std::int64_t n_chunks = static_cast<std::int64_t>(tokens.size()) / n_ctx;
  n_chunks = std::min(n_chunks, args.get_int("--chunks", n_chunks));
  if (n_chunks < 1)
    throw cnai::Error(cnai::ErrorCode::invalid_argument, *file + " has " + std::to_string(tokens.size()) +
                                                             " tokens: fewer than one chunk of " + std::to_string(n_ctx));
  cnai::ModelOptions mo;
  mo.threads = static_cast<int>(args.get_int("-t", 0));
  const auto model = cnai::Model::load(path, mo);
  cnai::ContextOptions co;
  co.n_ctx = n_ctx;
  co.n_batch = static_cast<int>(std::min<std::int64_t>(args.get_int("-b", 512), n_ctx));
  cnai::Context ctx(model, co);
  const bool add_bos = tokenizer.vocab().add_bos && tokenizer.bos() >= 0;
  const int first = n_ctx / 2;
  const std::size_t V = static_cast<std::size_t>(ctx.n_vocab());
  std::fprintf(stderr, "perplexity: %zu tokens, %lld chunks of %d, scoring the last %d of each\n", tokens.size(),
               static_cast<long long>(n_chunks), n_ctx, n_ctx - 1 - first);
  double total = 0.0;
  std::int64_t count = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t c = 0; c < n_chunks; ++c) {
    std::vector<std::int32_t> chunk(tokens.begin() + c * n_ctx, tokens.begin() + (c + 1) * n_ctx);
    if (add_bos) chunk[0] = tokenizer.bos();
    ctx.reset();
    ctx.eval(chunk, /*all_logits=*/true);
    const std::span<const float> all = ctx.all_logits();
    // Logits at position j predict token j + 1 of the original text.
    for (int j = first; j < n_ctx - 1; ++j, ++count)
      total += nll(all.subspan(static_cast<std::size_t>(j) * V, V), tokens[static_cast<std::size_t>(c * n_ctx + j + 1)]);
    std::printf("[%lld]%.4f,", static_cast<long long>(c + 1), std::exp(total / static_cast<double>(count)));
    std::fflush(stdout);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("\nFinal estimate: PPL = %.4f (%lld tokens scored, %.1f s)\n", std::exp(total / static_cast<double>(count)),
              static_cast<long long>(count), secs);
  return 0;
}

const bool registered = cnai::cli::register_command(
    {"perplexity", "perplexity on a text file, chunked as llama-perplexity", &run_perplexity});

}  // namespace
