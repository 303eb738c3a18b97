// `cnai bench`: prefill and decode throughput of a model (tokens/s), measured
// as llama-bench measures pp and tg: prefill = one eval of a p-token prompt,
// decode = n single-token evals, each timed from a cache that holds d tokens
// (-d, default 0, llama-bench's --n-depth). Mean (and best) of r repeats after
// a warm-up run.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include <boost/json.hpp>

#include "bench_serve.hpp"
#include "cli.hpp"
#include "cnai/core/error.hpp"
#include "cnai/model/model.hpp"
#include "cnai/ops/matmul.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Round {
  double prefill_s = 0, decode_s = 0;
};

// Prefill and decode each from a cache of `depth` tokens (filled untimed).
// Decode does not follow the timed prompt: its own cost grows with the
// context, so the prompt is cut off again before it.
Round run_round(cnai::Context& ctx, const std::vector<std::int32_t>& depth, const std::vector<std::int32_t>& prompt,
                const std::vector<std::int32_t>& gen) {
  Round r;
  ctx.reset();
  if (!depth.empty()) ctx.eval(depth);
  auto t0 = Clock::now();
  ctx.eval(prompt);
  r.prefill_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (gen.empty()) return r;
  ctx.truncate(static_cast<int>(depth.size()));
  t0 = Clock::now();
  for (std::int32_t id : gen) ctx.eval(std::span<const std::int32_t>(&id, 1));
  r.decode_s = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

std::vector<std::int32_t> random_ids(std::mt19937& rng, int n, int n_vocab) {
  std::uniform_int_distribution<std::int32_t> dist(0, n_vocab - 1);
  std::vector<std::int32_t> ids(static_cast<std::size_t>(n));
  for (auto& id : ids) id = dist(rng);
  return ids;
}

// Running mean, standard deviation and best of per-repetition rates.
struct Rate {
  double sum = 0, sum_sq = 0, best = 0;
  int n = 0;
  void add(double r) {
    sum += r;
    sum_sq += r * r;
    best = std::max(best, r);
    ++n;
  }
  double mean() const { return n > 0 ? sum / n : 0.0; }
  double stddev() const { return n > 1 ? std::sqrt(std::max(0.0, (sum_sq - sum * sum / n) / (n - 1))) : 0.0; }
};

int run_bench(const std::vector<std::string>& argv) {
  const cnai::cli::Args args(argv, {"--json", "--no-invariance"});
  if (args.has("--concurrency")) return cnai::cli::run_bench_serve(args);
  const std::string path = args.get_or("-m", cnai::cli::default_model_path());
  const int n_prompt = static_cast<int>(args.get_int("-p", 128));
  const int n_gen = static_cast<int>(args.get_int("-n", 64));
  const int n_depth = static_cast<int>(args.get_int("-d", 0));
  const int repeats = std::max(1, static_cast<int>(args.get_int("-r", 3)));
  if (n_prompt < 1 || n_gen < 0 || n_depth < 0)
    throw cnai::Error(cnai::ErrorCode::invalid_argument, "bench: need -p >= 1, -n >= 0, -d >= 0");
  cnai::ModelOptions mo;
  mo.threads = static_cast<int>(args.get_int("-t", 0));
  const std::string kv = args.get_or("--kv-type", "f16");  // llama-bench's default too
  if (kv != "f32" && kv != "f16") throw cnai::Error(cnai::ErrorCode::invalid_argument, "bench: --kv-type must be f16 or f32");
  mo.kv_type = kv == "f16" ? cnai::KvCacheType::f16 : cnai::KvCacheType::f32;
  cnai::cli::apply_model_env(mo);
  auto model = cnai::Model::load(path, mo);
  cnai::ContextOptions co;
  co.n_ctx = n_depth + std::max(n_prompt, n_gen);
  co.n_batch = n_prompt;
  cnai::Context ctx(model, co);
  std::mt19937 rng(1234);
  const auto prompt = random_ids(rng, n_prompt, model->config().n_vocab);
  const auto gen = random_ids(rng, n_gen, model->config().n_vocab);
  const auto depth = random_ids(rng, n_depth, model->config().n_vocab);
  run_round(ctx, depth, prompt, gen);  // warm-up: page in weights, grow scratch
  // Like llama-bench: the mean (and spread) of each repetition's tokens/s.
  Rate prefill, decode;
  for (int i = 0; i < repeats; ++i) {
    const Round r = run_round(ctx, depth, prompt, gen);
    prefill.add(n_prompt / r.prefill_s);
    if (n_gen > 0) decode.add(n_gen / r.decode_s);
  }
  if (args.has("--json")) {
    boost::json::object o{{"model", path},
                          {"threads", model->threads()},
                          {"n_prompt", n_prompt},
                          {"n_gen", n_gen},
                          {"n_depth", n_depth},
                          {"repeats", repeats},
                          {"isa", cnai::ops::matmul_isa()},
                          {"kv_type", kv},
                          {"statistic", "mean"},
                          {"prefill_tokens_per_s", prefill.mean()},
                          {"decode_tokens_per_s", decode.mean()},
                          {"prefill_tokens_per_s_stddev", prefill.stddev()},
                          {"decode_tokens_per_s_stddev", decode.stddev()},
                          {"prefill_tokens_per_s_best", prefill.best},
                          {"decode_tokens_per_s_best", decode.best}};
    std::printf("%s\n", boost::json::serialize(o).c_str());
  } else {
    std::printf("model   %s\nthreads %d, isa %s, depth %d, mean of %d (best)\n", path.c_str(), model->threads(),
                cnai::ops::matmul_isa(), n_depth, repeats);
    std::printf("prefill %5d tokens: %8.1f ± %.1f tokens/s (%.1f)\n", n_prompt, prefill.mean(), prefill.stddev(),
                prefill.best);
    std::printf("decode  %5d tokens: %8.1f ± %.1f tokens/s (%.1f)\n", n_gen, decode.mean(), decode.stddev(),
                decode.best);
  }
  return 0;
}

const bool registered = cnai::cli::register_command(
    {"bench",
     "measure prefill and decode tokens/s, each from a cache of d tokens as llama-bench does:\n"
     "       [-m MODEL] [-t N] [-p 128] [-n 64] [-d 0] [-r 3] [--kv-type f16|f32] [--json];\n"
     "       serving mode: --concurrency 1,2,4,8,16 [-n 128] [-r 2 requests per stream] [--no-invariance] [--json]",
     &run_bench});

}  // namespace
