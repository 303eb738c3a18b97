// `cnai bench --concurrency 1,2,4,8,16 -n 128`: the local engine as a server of
// concurrent streams. At each concurrency C, C threads each run R requests
// back to back (distinct short chat prompts, exactly n generated tokens);
// reported: aggregate generated tokens/s over the wall time, p50/p99 time to
// first token and inter-token latency. Then the prefix cache's effect (time to
// first token of a request sharing a ~500-token system prompt with an earlier
// one, vs. a cold one) and the time to first token of a 128-token prompt
// arriving while 8 streams decode.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "bench_serve.hpp"
#include "cli.hpp"
#include "cnai/core/error.hpp"
#include "cnai/engine/local_engine.hpp"
#include "local_options.hpp"

namespace cnai::cli {
namespace {

using Clock = std::chrono::steady_clock;

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const double at = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(at);
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (at - static_cast<double>(lo));
}

const char* const kTopics[] = {"a dragon", "the sea", "a bicycle", "bread", "a city at night", "the moon",
                               "a lost dog", "an old clock", "a garden", "a robot", "winter", "a violin",
                               "a lighthouse", "a train", "a volcano", "a library"};

std::vector<std::int32_t> chat_prompt(const LocalEngine& e, const std::string& system, const std::string& user) {
  ChatRequest r;
  if (!system.empty()) r.messages.push_back(Message::system(system));
  r.messages.push_back(Message::user(user));
  return e.tokenize_prompt(e.render_prompt(r));
}

struct Timed {
  double ttft_ms = 0;
  std::vector<double> itl_ms;  // per token, between text deltas
  std::int64_t tokens = 0;
};

// One request of exactly n tokens (end-of-generation tokens ignored), timed.
Timed timed_request(LocalEngine& e, std::vector<std::int32_t> prompt, int n, std::uint64_t seed) {
  GenerateRequest g;
  g.prompt = std::move(prompt);
  g.max_tokens = n;
  g.ignore_eog = true;
  g.sampling.temperature = 0.0f;
  g.sampling.seed = seed;
  Timed t;
  const auto t0 = Clock::now();
  auto last = t0;
  bool first = true;
  const GenerateResult r = e.generate(g, [&](std::string_view, std::span<const std::int32_t> tokens) {
    const auto now = Clock::now();
    if (first) {
      t.ttft_ms = ms(now - t0);
      first = false;
    } else if (!tokens.empty()) {
      const double gap = ms(now - last) / static_cast<double>(tokens.size());
      for (std::size_t i = 0; i < tokens.size(); ++i) t.itl_ms.push_back(gap);
    }
    last = now;
    return true;
  });
  if (first) t.ttft_ms = r.timings.time_to_first_token_ms;
  t.tokens = r.usage.completion_tokens;
  return t;
}

boost::json::object run_level(LocalEngine& e, int concurrency, int n, int rounds) {
  std::mutex m;
  std::vector<double> ttft, itl;
  std::int64_t tokens = 0;
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < concurrency; ++c)
    threads.emplace_back([&, c] {
      for (int r = 0; r < rounds; ++r) {
        const std::string topic = kTopics[(c + r * concurrency) % std::size(kTopics)];
        Timed t = timed_request(e, chat_prompt(e, "", "Tell me a long story about " + topic + "."), n,
                                static_cast<std::uint64_t>(c));
        std::lock_guard lock(m);
        ttft.push_back(t.ttft_ms);
        itl.insert(itl.end(), t.itl_ms.begin(), t.itl_ms.end());
        tokens += t.tokens;
      }
    });
  for (auto& t : threads) t.join();
  const double wall_s = ms(Clock::now() - t0) / 1000.0;
  return {{"concurrency", concurrency},
          {"requests", concurrency * rounds},
          {"generated_tokens", tokens},
          {"wall_s", wall_s},
          {"aggregate_tokens_per_s", static_cast<double>(tokens) / wall_s},
          {"ttft_p50_ms", percentile(ttft, 50)},
          {"ttft_p99_ms", percentile(ttft, 99)},
          {"itl_p50_ms", percentile(itl, 50)},
          {"itl_p99_ms", percentile(itl, 99)}};
}

// A ~500-token system prompt, cold (nothing of it cached) and then warm (an
// earlier request left it in the prefix cache). Three different system
// prompts; medians.
boost::json::object prefix_effect(LocalEngine& e) {
  std::vector<double> cold, warm;
  std::size_t system_tokens = 0;
  for (int v = 0; v < 3; ++v) {
    std::string system = "Variant " + std::to_string(v) + ". You are the assistant of a large public library. ";
    while (chat_prompt(e, system, "").size() < 500)
      system += "Answer questions about opening hours, loans, reading rooms and events, politely and briefly. ";
    system_tokens = chat_prompt(e, system, "").size();
    cold.push_back(timed_request(e, chat_prompt(e, system, "Can I borrow ten books at once?"), 1, 1).ttft_ms);
    warm.push_back(timed_request(e, chat_prompt(e, system, "Is the reading room open on Sunday?"), 1, 1).ttft_ms);
  }
  return {{"system_prompt_tokens", system_tokens},
          {"ttft_cold_ms", percentile(cold, 50)},
          {"ttft_warm_ms", percentile(warm, 50)}};
}

// Time to first token of a 128-token prompt while 8 streams decode: 5 arrivals
// 50 ms apart, each prompt new to the prefix cache (its own first line), so
// every one is a cold 128-token prefill beside the decoding streams.
std::vector<double> ttft_under_load(LocalEngine& e, int streams) {
  std::vector<GenerationHandle> busy;
  for (int c = 0; c < streams; ++c) {
    GenerateRequest g;
    g.prompt = chat_prompt(e, "", std::string("Tell me a long story about ") + kTopics[c % 16] + ".");
    g.max_tokens = 400;
    g.ignore_eog = true;
    busy.push_back(e.submit(g));
  }
  while (std::any_of(busy.begin(), busy.end(), [](const GenerationHandle& h) {
    return h.stats().phase != RequestPhase::decode && !h.done();
  }))
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::vector<double> ttft;
  for (int k = 0; k < 5; ++k) {
    std::vector<std::int32_t> prompt;
    std::string text = "Summarise the following notes.";
    const std::string first = "Notes of meeting " + std::to_string(k + 1) + " of the " + kTopics[k] + " committee.";
    while ((prompt = chat_prompt(e, first, text)).size() < 128) text += " The committee met on Tuesday and agreed on the budget.";
    prompt.resize(128);
    ttft.push_back(timed_request(e, prompt, 4, 7).ttft_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (auto& h : busy) h.cancel();
  for (auto& h : busy) h.wait_for(std::chrono::seconds(30));
  return ttft;
}

}  // namespace

int run_bench_serve(const Args& args) {
  std::vector<int> levels;
  const std::string list = args.get_or("--concurrency", "1,2,4,8,16");
  for (std::size_t at = 0; at < list.size();) {
    const std::size_t comma = std::min(list.find(',', at), list.size());
    const int c = std::atoi(list.substr(at, comma - at).c_str());
    if (c < 1 || c > 256) throw Error(ErrorCode::invalid_argument, "bench: --concurrency takes numbers in [1, 256], got '" + list + "'");
    levels.push_back(c);
    at = comma + 1;
  }
  const int n = static_cast<int>(args.get_int("-n", 128));
  const int rounds = std::max(1, static_cast<int>(args.get_int("-r", 2)));
  if (n < 1) throw Error(ErrorCode::invalid_argument, "bench: -n must be >= 1");
  LocalEngineOptions o = engine_options_from(args);
  if (o.n_ctx == 0) o.n_ctx = 2048;
  o.max_sequences = std::max(o.max_sequences, *std::max_element(levels.begin(), levels.end()));
  o.max_batched_tokens = std::max(o.max_batched_tokens, o.max_sequences);
  if (args.has("--no-invariance")) o.batch_invariant = false;
  const std::string path = model_path(args);
  auto engine = LocalEngine::load(path, o);
  timed_request(*engine, chat_prompt(*engine, "", "Hello."), 8, 0);  // warm-up: page in, grow scratch

  boost::json::array serving;
  for (int c : levels) serving.push_back(run_level(*engine, c, n, rounds));
  const boost::json::object prefix = prefix_effect(*engine);
  std::vector<double> under_load = ttft_under_load(*engine, 8);
  const double under_load_max = *std::max_element(under_load.begin(), under_load.end());
  const double under_load_p50 = percentile(under_load, 50);
  const EngineStats stats = engine->stats();
  if (args.has("--json")) {
    boost::json::object out{{"model", path},
                            {"threads", engine->model().threads()},
                            {"n_gen", n},
                            {"requests_per_stream", rounds},
                            {"batch_invariant", o.batch_invariant},
                            {"serving", serving},
                            {"prefix_cache", prefix},
                            {"ttft_128_prompt_while_8_decode_ms", under_load_p50},
                            {"ttft_128_prompt_while_8_decode_max_ms", under_load_max},
                            {"preemptions", stats.preemptions},
                            {"prefix_hit_rate", stats.prefix_hit_rate}};
    std::printf("%s\n", boost::json::serialize(out).c_str());
    return 0;
  }
  std::printf("model %s, threads %d, %d tokens per request, %d requests per stream%s\n", path.c_str(),
              engine->model().threads(), n, rounds, o.batch_invariant ? "" : ", batch invariance off");
  std::printf("%11s %10s %12s %12s %12s %12s\n", "concurrency", "tokens/s", "ttft p50 ms", "ttft p99 ms",
              "itl p50 ms", "itl p99 ms");
  for (const auto& v : serving) {
    const auto& r = v.as_object();
    std::printf("%11lld %10.1f %12.1f %12.1f %12.2f %12.2f\n", static_cast<long long>(r.at("concurrency").as_int64()),
                r.at("aggregate_tokens_per_s").as_double(), r.at("ttft_p50_ms").as_double(),
                r.at("ttft_p99_ms").as_double(), r.at("itl_p50_ms").as_double(), r.at("itl_p99_ms").as_double());
  }
  std::printf("prefix cache: %lld-token system prompt, time to first token cold %.1f ms, shared %.1f ms\n",
              static_cast<long long>(prefix.at("system_prompt_tokens").as_uint64()),
              prefix.at("ttft_cold_ms").as_double(), prefix.at("ttft_warm_ms").as_double());
  std::printf("time to first token of a 128-token prompt while 8 streams decode: %.1f ms p50, %.1f ms max of %zu\n",
              under_load_p50, under_load_max, under_load.size());
  return 0;
}

}  // namespace cnai::cli
