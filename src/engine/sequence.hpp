// Sequence — what one generation owns: its prompt and sampled tokens, its
// sampler, stop matcher and stream decoder, the text it has produced, its
// usage and timings. The code that runs the model (the engine's loop) feeds it
// logits and takes the text that became final; where the sequence's keys and
// values live is not its business.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cnai/engine/local_engine.hpp"
#include "cnai/engine/sampler.hpp"
#include "cnai/text/stop_matcher.hpp"
#include "cnai/text/stream_decoder.hpp"
#include "cnai/text/tokenizer.hpp"

namespace cnai::engine {

using Clock = std::chrono::steady_clock;

/// Error(invalid_argument) for an empty prompt or max_tokens < 1;
/// Error(context_overflow) for a prompt longer than n_ctx.
void check_generate_request(const GenerateRequest& request, int n_ctx);

/// Request fields left unset take the engine's defaults.
SamplingParams merge_sampling(const SamplingParams& request, const SamplingParams& defaults);

/// Text that became final (never part of a stop, never half a character) and
/// the tokens behind it.
struct Delta {
  std::string text;
  std::vector<std::int32_t> tokens;
};

class Sequence {
 public:
  /// The request is checked (check_generate_request); n_ctx bounds prompt +
  /// generated tokens. Errors: those of Sampler and StopMatcher.
  Sequence(const GenerateRequest& request, const SamplerConfig& sampling, const Tokenizer& tokenizer, int n_ctx,
           Clock::time_point arrival);

  const std::vector<std::int32_t>& prompt() const noexcept { return prompt_; }
  const std::vector<std::int32_t>& generated() const noexcept { return generated_; }
  /// Prompt then generated tokens: what position `pos` of the sequence holds.
  std::int32_t token_at(std::size_t pos) const noexcept {
    return pos < prompt_.size() ? prompt_[pos] : generated_[pos - prompt_.size()];
  }
  std::size_t n_tokens() const noexcept { return prompt_.size() + generated_.size(); }
  const std::optional<int>& max_tokens() const noexcept { return max_tokens_; }

  /// The prompt's evaluation began, with `cached` prompt tokens already in
  /// the cache (queue time ends here), and ended.
  void start_prefill(Clock::time_point t, std::size_t cached);
  void end_prefill(Clock::time_point t);

  /// Picks the next token from the logits of the last token, and ends the
  /// generation on an end-of-generation token, a stop sequence, max_tokens or
  /// a full context. Errors: the sampler's (every token banned).
  void sample(std::span<const float> logits);
  bool finished() const noexcept { return finish_ != FinishReason::none; }
  FinishReason finish_reason() const noexcept { return finish_; }

  /// The text that became final since the last call (and, at the end, the
  /// tokens still behind none), or nothing.
  std::optional<Delta> take_delta();

  /// The whole generation; timings up to `end`.
  GenerateResult result(Clock::time_point end) const;

 private:
  void emit(const std::string& piece, bool last);
  void finish(FinishReason reason);

  const Tokenizer* tokenizer_;
  std::vector<std::int32_t> prompt_, generated_;
  std::optional<int> max_tokens_;
  bool ignore_eog_;
  int n_ctx_;
  Sampler sampler_;
  StopMatcher stops_;
  StreamDecoder decoder_;
  FinishReason finish_ = FinishReason::none;
  std::string text_;
  std::vector<std::int32_t> unsent_;  // sampled tokens whose text is not final yet
  Delta ready_;
  bool has_ready_ = false;
  std::size_t cached_ = 0;
  Clock::time_point arrival_, prefill_start_, prefill_end_, first_token_;
};

}  // namespace cnai::engine
