#include "engine/sequence.hpp"

#include "cnai/core/error.hpp"

namespace cnai::engine {
namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

template <typename T>
std::optional<T> pick(const std::optional<T>& request, const std::optional<T>& fallback) {
  return request ? request : fallback;
}

}  // namespace

void check_generate_request(const GenerateRequest& request, int n_ctx) {
  if (request.prompt.empty()) throw Error(ErrorCode::invalid_argument, "generate: the prompt has no tokens");
  if (request.max_tokens && *request.max_tokens < 1)
    throw Error(ErrorCode::invalid_argument,
                "max_tokens must be at least 1, got " + std::to_string(*request.max_tokens));
  if (request.prompt.size() > static_cast<std::size_t>(n_ctx))
    throw Error(ErrorCode::context_overflow, "the prompt is " + std::to_string(request.prompt.size()) +
                                                 " tokens but the context holds " + std::to_string(n_ctx));
}

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

Sequence::Sequence(const GenerateRequest& request, const SamplerConfig& sampling, const Tokenizer& tokenizer,
                   int n_ctx, Clock::time_point arrival)
    : tokenizer_(&tokenizer),
      prompt_(request.prompt),
      max_tokens_(request.max_tokens),
      ignore_eog_(request.ignore_eog),
      n_ctx_(n_ctx),
      sampler_(sampling, tokenizer.vocab_size()),
      stops_(request.stop),
      decoder_(tokenizer),
      arrival_(arrival),
      prefill_start_(arrival),
      prefill_end_(arrival),
      first_token_(arrival) {}

void Sequence::start_prefill(Clock::time_point t, std::size_t cached) {
  prefill_start_ = t;
  cached_ = cached;
}

void Sequence::end_prefill(Clock::time_point t) { prefill_end_ = t; }

void Sequence::sample(std::span<const float> logits) {
  const std::int32_t token = sampler_.sample(logits);
  sampler_.accept(token);
  generated_.push_back(token);
  if (generated_.size() == 1) first_token_ = Clock::now();
  if (!ignore_eog_ && tokenizer_->is_eog(token)) return finish(FinishReason::stop);
  unsent_.push_back(token);
  const auto step = stops_.push(decoder_.push(token));
  emit(step.emit, false);
  if (step.stopped) {
    finish_ = FinishReason::stop;  // the stop text and what follows it are never sent
    return;
  }
  // The last sampled token still needs a position to be evaluated at.
  const bool at_limit = max_tokens_ && static_cast<int>(generated_.size()) >= *max_tokens_;
  if (at_limit || n_tokens() - 1 >= static_cast<std::size_t>(n_ctx_)) finish(FinishReason::length);
}

// The end may settle a stop that was waiting on a longer candidate.
void Sequence::finish(FinishReason reason) {
  finish_ = reason;
  auto tail = stops_.push(decoder_.flush()).emit;
  if (!stops_.stopped()) tail += stops_.flush();
  if (stops_.stopped()) finish_ = FinishReason::stop;
  emit(tail, true);
}

void Sequence::emit(const std::string& piece, bool last) {
  if (piece.empty() && !(last && !unsent_.empty())) return;
  text_ += piece;
  ready_.text += piece;
  ready_.tokens.insert(ready_.tokens.end(), unsent_.begin(), unsent_.end());
  unsent_.clear();
  has_ready_ = true;
}

std::optional<Delta> Sequence::take_delta() {
  if (!has_ready_) return std::nullopt;
  has_ready_ = false;
  return std::exchange(ready_, Delta{});
}

GenerateResult Sequence::result(Clock::time_point end) const {
  GenerateResult r;
  r.text = text_;
  r.tokens = generated_;
  r.finish_reason = finish_;
  r.usage.prompt_tokens = static_cast<std::int64_t>(prompt_.size());
  r.usage.cached_prompt_tokens = static_cast<std::int64_t>(cached_);
  r.usage.completion_tokens = static_cast<std::int64_t>(generated_.size());
  r.usage.total_tokens = r.usage.prompt_tokens + r.usage.completion_tokens;
  r.timings.total_ms = ms_between(arrival_, end);
  r.timings.queue_ms = ms_between(arrival_, prefill_start_);
  if (!generated_.empty()) r.timings.time_to_first_token_ms = ms_between(arrival_, first_token_);
  const double prefill_s = ms_between(prefill_start_, prefill_end_) / 1000.0;
  const double decode_s = ms_between(prefill_end_, end) / 1000.0;
  if (prefill_s > 0) r.timings.prompt_tokens_per_s = static_cast<double>(prompt_.size() - cached_) / prefill_s;
  if (decode_s > 0) r.timings.completion_tokens_per_s = static_cast<double>(generated_.size()) / decode_s;
  return r;
}

}  // namespace cnai::engine
