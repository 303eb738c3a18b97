// Sampler — picks the next token from one row of logits: logit bias, repetition/
// frequency/presence penalties, then greedy or temperature + top-k + top-p + min-p
// and a draw from a seeded, portable RNG (same seed + same logits => same tokens).
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "cnai/api/types.hpp"
#include "cnai/core/error.hpp"

namespace cnai {

struct SamplerConfig {
  float temperature = 1.0f;         // <= 0: greedy (argmax after penalties and bias)
  int top_k = 0;                    // 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off (keep tokens with p >= min_p * p_max)
  float repetition_penalty = 1.0f;  // llama.cpp/CTRL: logit>0 ? logit/p : logit*p, over the window
  float frequency_penalty = 0.0f;   // OpenAI: logit -= frequency * count
  float presence_penalty = 0.0f;    // OpenAI: logit -= presence * (count > 0)
  int penalty_last_n = 64;          // window for the penalties (-1: all accepted tokens, 0: off)
  std::map<std::int32_t, float> logit_bias;  // added to logits; -100 or less bans the token
  std::uint64_t seed = 0;           // same seed + same logits sequence => same tokens

  /// From the shared request type: unset fields keep the defaults above;
  /// seed unset -> random seed (std::random_device).
  static SamplerConfig from(const SamplingParams& params);
};

/// Order of processing for each call of sample():
///   NaN logits -> -inf; logit bias (<= -100 bans); penalties over the window;
///   greedy (temperature <= 0): argmax, lowest id on ties;
///   otherwise logits / temperature -> top-k -> top-p (smallest nucleus of the
///   top-k renormalised distribution) -> min-p (p >= min_p * p_max) -> softmax
///   over the survivors -> draw with std::mt19937_64 and a 53-bit uniform double.
/// Every token banned or -inf: cnai::Error(invalid_argument).
/// Not thread-safe: one Sampler per generation stream.
class Sampler {
 public:
  /// invalid_argument for nonsense: temperature NaN/+inf, top_k < 0, top_p outside (0,1],
  /// min_p outside [0,1], n_vocab <= 0, bias token outside the vocabulary or bias NaN/+inf,
  /// non-finite penalties, repetition_penalty <= 0, penalty_last_n < -1.
  Sampler(const SamplerConfig& config, int n_vocab);

  /// Picks the next token from one row of logits (size n_vocab). Does not modify
  /// the caller's logits and does not allocate.
  std::int32_t sample(std::span<const float> logits);

  /// Records a token for the penalties (the generation loop calls it for each
  /// generated token; prompt tokens may be passed too). Does not allocate
  /// for windows up to 65536 tokens.
  void accept(std::int32_t token);

  /// Forgets accepted tokens and re-seeds the RNG with config().seed.
  void reset();

  const SamplerConfig& config() const noexcept { return config_; }
  int n_vocab() const noexcept { return n_vocab_; }

 private:
  void load_logits(std::span<const float> logits);
  void apply_bias_and_penalties();
  std::int32_t argmax() const;
  std::int32_t sample_stochastic();
  std::int32_t sample_top_k(float max_scaled);
  std::int32_t sample_dense(float max_scaled);
  double uniform01();
  void count_in(std::int32_t token);
  void count_out(std::int32_t token);

  SamplerConfig config_;
  int n_vocab_;
  std::mt19937_64 rng_;
  std::vector<std::pair<std::int32_t, float>> bias_;  // logit_bias as a flat list
  std::vector<std::int32_t> window_;                  // ring of the last penalty_last_n accepted tokens
  std::size_t window_start_ = 0;                      // oldest entry once the ring is full
  std::vector<std::int32_t> counts_;                  // per token: occurrences in window_
  std::vector<std::int32_t> present_;                 // tokens with counts_ > 0
  std::vector<std::int32_t> present_pos_;             // index of a token in present_
  // Scratch sized once in the constructor so sample() never allocates.
  std::vector<float> work_;   // logits after bias/penalties, then / temperature
  std::vector<float> prob_;   // exp(work_ - max) for candidates
  std::vector<std::int32_t> cand_, kept_, tail_;
  std::vector<std::uint16_t> bucket_;  // top-p bucket of each token
  std::vector<std::pair<float, std::int32_t>> heap_;
  std::vector<double> bucket_mass_;
  std::vector<double> block_sum_;
};

}  // namespace cnai
