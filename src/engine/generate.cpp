// The token loop: reuse the cached prefix, evaluate the prompt, then sample,
// detokenize, match stop sequences and evaluate one token per step.
#include <algorithm>
#include <chrono>

#include "cnai/core/error.hpp"
#include "cnai/engine/sampler.hpp"
#include "cnai/text/stop_matcher.hpp"
#include "cnai/text/stream_decoder.hpp"
#include "engine/engine_state.hpp"

namespace cnai {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

template <typename T>
std::optional<T> pick(const std::optional<T>& request, const std::optional<T>& fallback) {
  return request ? request : fallback;
}

void check_request(const GenerateRequest& request, int n_ctx) {
  if (request.prompt.empty()) throw Error(ErrorCode::invalid_argument, "generate: the prompt has no tokens");
  if (request.max_tokens && *request.max_tokens < 1)
    throw Error(ErrorCode::invalid_argument,
                "max_tokens must be at least 1, got " + std::to_string(*request.max_tokens));
  if (request.prompt.size() > static_cast<std::size_t>(n_ctx))
    throw Error(ErrorCode::context_overflow, "the prompt is " + std::to_string(request.prompt.size()) +
                                                 " tokens but the context holds " + std::to_string(n_ctx));
}

std::size_t common_prefix(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b) {
  return static_cast<std::size_t>(std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first - a.begin());
}

// Request fields left unset take the engine's defaults.
SamplingParams merge_sampling(const SamplingParams& r, const SamplingParams& d) {
  SamplingParams m;
  m.temperature = pick(r.temperature, d.temperature);
  m.top_p = pick(r.top_p, d.top_p);
  m.top_k = pick(r.top_k, d.top_k);
  m.min_p = pick(r.min_p, d.min_p);
  m.repetition_penalty = pick(r.repetition_penalty, d.repetition_penalty);
  m.frequency_penalty = pick(r.frequency_penalty, d.frequency_penalty);
  m.presence_penalty = pick(r.presence_penalty, d.presence_penalty);
  m.seed = pick(r.seed, d.seed);
  m.logit_bias = r.logit_bias.empty() ? d.logit_bias : r.logit_bias;
  return m;
}

// Collects emitted text and the tokens behind it, and forwards to the caller.
class Emitter {
 public:
  Emitter(GenerateResult& result, const TextCallback& callback) : result_(result), callback_(callback) {}
  void token(std::int32_t id) { pending_.push_back(id); }
  void text(const std::string& piece, bool last = false) {
    if (piece.empty() && !(last && !pending_.empty())) return;
    result_.text += piece;
    if (callback_ && !callback_(piece, pending_))
      throw Error(ErrorCode::cancelled, "generation cancelled by the caller");
    pending_.clear();
  }

 private:
  GenerateResult& result_;
  const TextCallback& callback_;
  std::vector<std::int32_t> pending_;
};

}  // namespace

GenerateResult LocalEngine::generate(const GenerateRequest& request, const TextCallback& on_text) {
  require_decoder("generate");
  Impl& s = *impl_;
  const auto start = Clock::now();
  s.active.fetch_add(1, std::memory_order_relaxed);
  struct Leave {
    std::atomic<int>& n;
    ~Leave() { n.fetch_sub(1, std::memory_order_relaxed); }
  } leave{s.active};
  std::lock_guard lock(s.session_mutex);
  if (request.cancel.stop_requested()) throw Error(ErrorCode::cancelled, "generation cancelled before it started");
  Context& ctx = *s.context;
  check_request(request, ctx.n_ctx());
  Sampler sampler(SamplerConfig::from(merge_sampling(request.sampling, s.options.default_sampling)), ctx.n_vocab());
  StopMatcher stops(request.stop);

  // Reuse the longest cached prefix; at least one prompt token is evaluated so
  // there are logits to sample from.
  std::size_t keep = s.options.reuse_prefix ? common_prefix(s.cached, request.prompt) : 0;
  keep = std::min(keep, request.prompt.size() - 1);
  ctx.truncate(static_cast<int>(keep));
  s.cached.resize(keep);

  GenerateResult result;
  result.usage.prompt_tokens = static_cast<std::int64_t>(request.prompt.size());
  result.usage.cached_prompt_tokens = static_cast<std::int64_t>(keep);
  Emitter emit(result, on_text);
  StreamDecoder decoder(s.tokenizer);
  auto prefill_end = start;
  try {
    const std::span<const std::int32_t> fresh(request.prompt.data() + keep, request.prompt.size() - keep);
    std::span<const float> logits = ctx.eval(fresh);
    s.cached.insert(s.cached.end(), fresh.begin(), fresh.end());
    prefill_end = Clock::now();
    for (;;) {
      const std::int32_t token = sampler.sample(logits);
      sampler.accept(token);
      result.tokens.push_back(token);
      if (result.tokens.size() == 1) result.timings.time_to_first_token_ms = ms_between(start, Clock::now());
      if (!request.ignore_eog && s.tokenizer.is_eog(token)) {
        result.finish_reason = FinishReason::stop;
        break;
      }
      emit.token(token);
      const auto step = stops.push(decoder.push(token));
      emit.text(step.emit);
      if (step.stopped) {
        result.finish_reason = FinishReason::stop;
        break;
      }
      const bool at_limit = request.max_tokens && static_cast<int>(result.tokens.size()) >= *request.max_tokens;
      if (at_limit || ctx.n_past() >= ctx.n_ctx()) {
        result.finish_reason = FinishReason::length;
        break;
      }
      if (request.cancel.stop_requested())
        throw Error(ErrorCode::cancelled, "generation cancelled after " + std::to_string(result.tokens.size()) + " tokens");
      if (request.deadline && Clock::now() >= *request.deadline)
        throw Error(ErrorCode::timeout, "generation passed its deadline after " +
                                            std::to_string(result.tokens.size()) + " tokens");
      logits = ctx.eval(std::span<const std::int32_t>(&token, 1));
      s.cached.push_back(token);
    }
    if (!stops.stopped()) {
      // The end may settle a stop that was waiting on a longer candidate.
      auto tail = stops.push(decoder.flush()).emit;
      if (!stops.stopped()) tail += stops.flush();
      if (stops.stopped()) result.finish_reason = FinishReason::stop;
      emit.text(tail, true);
    }
  } catch (const Error& e) {
    // eval checks its input before touching the cache, and cancellation and
    // deadlines fall between steps; anything else may leave the cache unknown.
    const auto c = e.code();
    if (c != ErrorCode::invalid_argument && c != ErrorCode::context_overflow && c != ErrorCode::cancelled &&
        c != ErrorCode::timeout) {
      ctx.reset();
      s.cached.clear();
    }
    throw;
  } catch (...) {
    ctx.reset();
    s.cached.clear();
    throw;
  }
  const auto end = Clock::now();
  result.usage.completion_tokens = static_cast<std::int64_t>(result.tokens.size());
  result.usage.total_tokens = result.usage.prompt_tokens + result.usage.completion_tokens;
  result.timings.total_ms = ms_between(start, end);
  const double prefill_s = ms_between(start, prefill_end) / 1000.0;
  const double decode_s = ms_between(prefill_end, end) / 1000.0;
  if (prefill_s > 0) result.timings.prompt_tokens_per_s = static_cast<double>(request.prompt.size() - keep) / prefill_s;
  if (decode_s > 0) result.timings.completion_tokens_per_s = static_cast<double>(result.tokens.size()) / decode_s;
  return result;
}

}  // namespace cnai
