#include "local_options.hpp"

#include <cstdio>

#include "cnai/core/error.hpp"

namespace cnai::cli {

std::string local_flags_usage() {
  const LocalEngineOptions d;  // the defaults are the library's, stated once
  const SamplingParams& s = d.default_sampling;
  char sampling[256];
  std::snprintf(sampling, sizeof sampling,
                "  --max-tokens N      stop after N generated tokens (default %d)\n"
                "  --stop TEXT         stop sequence (repeatable)\n"
                "  --temperature T     0 = greedy (default %g)\n"
                "  --top-k K  --top-p P  --min-p P   (defaults %d, %g, %g)\n",
                d.default_max_tokens, static_cast<double>(s.temperature.value_or(1.0f)), s.top_k.value_or(0),
                static_cast<double>(s.top_p.value_or(1.0f)), static_cast<double>(s.min_p.value_or(0.0f)));
  return std::string(
             "  -m MODEL            GGUF file (default: " + default_model_path() + ")\n"
             "  -t N                compute threads (default: physical cores)\n"
             "  -c N                context length (default: the model's, at most 4096)\n"
             "  --template FILE     Jinja chat template instead of the model's\n"
             "  --kv-type f16|f32   KV cache precision (default f16)\n"
             "  --chatml            use ChatML when the model's template is missing or unusable\n"
             "  --system TEXT       system message\n"
             "  --embeddings-single-pass  an encoder model's matmuls in one pass (faster, less precise)\n") +
         sampling +
         "  --repeat-penalty R  --frequency-penalty F  --presence-penalty P\n"
         "  --seed N            reproducible sampling\n"
         "  --logit-bias ID=B   add B to token ID's logit; -100 bans it (repeatable)\n";
}

const std::vector<std::string> kLocalFlagNames = {"--chatml", "--embeddings-single-pass"};

LocalEngineOptions engine_options_from(const Args& args) {
  LocalEngineOptions o;
  o.model.threads = static_cast<int>(args.get_int("-t", args.get_int("--threads", 0)));
  o.n_ctx = static_cast<int>(args.get_int("-c", args.get_int("--ctx-size", 0)));
  if (auto file = args.get("--template")) o.chat_template = read_file(*file);
  o.chatml_fallback = args.has("--chatml");
  // An encoder model's integer matmuls in one pass, as llama.cpp (EncoderOptions::precise_activations).
  if (args.has("--embeddings-single-pass")) o.embedding.encoder.precise_activations = false;
  if (auto kv = args.get("--kv-type")) {
    if (*kv != "f16" && *kv != "f32")
      throw Error(ErrorCode::invalid_argument, "--kv-type must be f16 or f32, got '" + *kv + "'");
    o.model.kv_type = *kv == "f16" ? KvCacheType::f16 : KvCacheType::f32;
  }
  apply_model_env(o.model);
  o.template_now = template_now_from_env();
  return o;  // sampling and max_tokens defaults: LocalEngineOptions's own
}

void apply_request_flags(const Args& args, ChatRequest& r) {
  auto f = [&](const char* name) { return static_cast<float>(args.get_double(name, 0)); };
  SamplingParams& s = r.sampling;
  if (args.has("--temperature")) s.temperature = f("--temperature");
  if (args.has("--top-k")) s.top_k = static_cast<int>(args.get_int("--top-k", 0));
  if (args.has("--top-p")) s.top_p = f("--top-p");
  if (args.has("--min-p")) s.min_p = f("--min-p");
  if (args.has("--repeat-penalty")) s.repetition_penalty = f("--repeat-penalty");
  if (args.has("--frequency-penalty")) s.frequency_penalty = f("--frequency-penalty");
  if (args.has("--presence-penalty")) s.presence_penalty = f("--presence-penalty");
  if (args.has("--seed")) s.seed = static_cast<std::uint64_t>(args.get_int("--seed", 0));
  if (args.has("--max-tokens")) r.max_tokens = static_cast<int>(args.get_int("--max-tokens", 0));
  for (const auto& stop : args.get_all("--stop")) r.stop.push_back(stop);
  for (const auto& bias : args.get_all("--logit-bias")) {
    const auto eq = bias.find('=');
    try {
      if (eq == std::string::npos) throw std::invalid_argument("no '='");
      std::size_t end_id = 0, end_value = 0;
      const int id = std::stoi(bias.substr(0, eq), &end_id);
      const float value = std::stof(bias.substr(eq + 1), &end_value);
      if (end_id != eq || end_value != bias.size() - eq - 1) throw std::invalid_argument("trailing text");
      s.logit_bias[id] = value;
    } catch (const std::exception&) {
      throw Error(ErrorCode::invalid_argument, "--logit-bias expects TOKEN_ID=BIAS (e.g. 504=-100), got '" + bias + "'");
    }
  }
}

std::string timing_line(const ChatResponse& r) {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "] prompt %lld tokens (%lld cached) at %.1f tokens/s; %lld generated at %.1f tokens/s; "
                "first token %.0f ms, total %.0f ms; $%.6f; finish %s\n",
                static_cast<long long>(r.usage.prompt_tokens), static_cast<long long>(r.usage.cached_prompt_tokens),
                r.timings.prompt_tokens_per_s, static_cast<long long>(r.usage.completion_tokens),
                r.timings.completion_tokens_per_s, r.timings.time_to_first_token_ms, r.timings.total_ms,
                r.usage.cost_usd, r.choices.empty() ? "none" : std::string(to_string(r.choices[0].finish_reason)).c_str());
  return "[" + r.backend + " " + r.model + buf;  // names whole, whatever bytes they hold
}

}  // namespace cnai::cli
