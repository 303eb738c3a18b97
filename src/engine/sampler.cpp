// Sampler: config checks, penalties over a window of accepted tokens, and the
// per-token pipeline bias -> penalties -> greedy | temperature -> top-k -> top-p
// -> min-p -> softmax -> draw. Scratch is sized once so sample() never allocates.
#include "cnai/engine/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "cnai/core/error.hpp"
#include "engine/sampler_filters.hpp"
#include "cnai/ops/softmax.hpp"

namespace cnai {
namespace {

constexpr float kBanBias = -100.0f;
constexpr std::size_t kBuckets = 4096;
constexpr std::size_t kMaxReservedWindow = 1 << 16;

[[noreturn]] void invalid(const std::string& what) {
  throw Error(ErrorCode::invalid_argument, "Sampler: " + what);
}

void check_config(const SamplerConfig& c, int n_vocab) {
  if (n_vocab <= 0) invalid("n_vocab must be positive, got " + std::to_string(n_vocab));
  if (std::isnan(c.temperature) || c.temperature == INFINITY) invalid("temperature must be a finite number");
  if (c.top_k < 0) invalid("top_k must be >= 0, got " + std::to_string(c.top_k));
  if (!(c.top_p > 0.0f && c.top_p <= 1.0f)) invalid("top_p must be in (0, 1], got " + std::to_string(c.top_p));
  if (!(c.min_p >= 0.0f && c.min_p <= 1.0f)) invalid("min_p must be in [0, 1], got " + std::to_string(c.min_p));
  if (!std::isfinite(c.repetition_penalty) || c.repetition_penalty <= 0.0f) {
    invalid("repetition_penalty must be finite and > 0");
  }
  if (!std::isfinite(c.frequency_penalty)) invalid("frequency_penalty must be finite");
  if (!std::isfinite(c.presence_penalty)) invalid("presence_penalty must be finite");
  if (c.penalty_last_n < -1) invalid("penalty_last_n must be >= -1");
  for (const auto& [token, bias] : c.logit_bias) {
    if (token < 0 || token >= n_vocab) {
      invalid("logit_bias token " + std::to_string(token) + " is outside the vocabulary of " +
              std::to_string(n_vocab));
    }
    if (std::isnan(bias) || bias == INFINITY) invalid("logit_bias for token " + std::to_string(token) + " is not a number");
  }
}

std::uint64_t random_seed() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace

SamplerConfig SamplerConfig::from(const SamplingParams& params) {
  SamplerConfig c;
  if (params.temperature) c.temperature = *params.temperature;
  if (params.top_p) c.top_p = *params.top_p;
  if (params.top_k) c.top_k = *params.top_k;
  if (params.min_p) c.min_p = *params.min_p;
  if (params.repetition_penalty) c.repetition_penalty = *params.repetition_penalty;
  if (params.frequency_penalty) c.frequency_penalty = *params.frequency_penalty;
  if (params.presence_penalty) c.presence_penalty = *params.presence_penalty;
  c.logit_bias = params.logit_bias;
  c.seed = params.seed ? *params.seed : random_seed();
  return c;
}

Sampler::Sampler(const SamplerConfig& config, int n_vocab) : config_(config), n_vocab_(n_vocab) {
  check_config(config_, n_vocab_);
  const auto n = static_cast<std::size_t>(n_vocab_);
  bias_.assign(config_.logit_bias.begin(), config_.logit_bias.end());
  counts_.assign(n, 0);
  present_pos_.assign(n, 0);
  work_.resize(n);
  prob_.resize(n);
  cand_.resize(n);
  kept_.resize(n);
  tail_.resize(n);
  bucket_.resize(n);
  heap_.resize(std::min<std::size_t>(static_cast<std::size_t>(config_.top_k), n));
  bucket_mass_.resize(kBuckets);
  block_sum_.resize(engine::draw_blocks(n));
  // Reserved up front so accept() does not allocate (windows up to kMaxReservedWindow).
  const std::size_t window = config_.penalty_last_n > 0 ? static_cast<std::size_t>(config_.penalty_last_n) : 0;
  window_.reserve(std::min(window, kMaxReservedWindow));
  present_.reserve(config_.penalty_last_n < 0 ? n : std::min(window, n));
  reset();
}

void Sampler::reset() {
  for (const std::int32_t t : present_) counts_[static_cast<std::size_t>(t)] = 0;
  present_.clear();
  window_.clear();
  window_start_ = 0;
  rng_.seed(config_.seed);
}

void Sampler::accept(std::int32_t token) {
  if (token < 0 || token >= n_vocab_) {
    invalid("accepted token " + std::to_string(token) + " is outside the vocabulary of " + std::to_string(n_vocab_));
  }
  if (config_.penalty_last_n == 0) return;
  count_in(token);
  if (config_.penalty_last_n < 0) return;  // every token counts forever: no history needed
  // window_ fills up to penalty_last_n tokens, then works as a ring.
  if (window_.size() < static_cast<std::size_t>(config_.penalty_last_n)) {
    window_.push_back(token);
    return;
  }
  const std::int32_t old = window_[window_start_];
  window_[window_start_] = token;
  window_start_ = (window_start_ + 1) % window_.size();
  count_out(old);
}

void Sampler::count_in(std::int32_t token) {
  if (counts_[static_cast<std::size_t>(token)]++ == 0) {
    present_pos_[static_cast<std::size_t>(token)] = static_cast<std::int32_t>(present_.size());
    present_.push_back(token);
  }
}

void Sampler::count_out(std::int32_t token) {
  if (--counts_[static_cast<std::size_t>(token)] > 0) return;
  // Swap-remove from present_.
  const std::int32_t pos = present_pos_[static_cast<std::size_t>(token)];
  const std::int32_t moved = present_.back();
  present_[static_cast<std::size_t>(pos)] = moved;
  present_pos_[static_cast<std::size_t>(moved)] = pos;
  present_.pop_back();
}

double Sampler::uniform01() {
  // 53 random bits -> [0, 1): the same on every standard library.
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

void Sampler::load_logits(std::span<const float> logits) {
  if (logits.size() != work_.size()) {
    invalid("logits row has " + std::to_string(logits.size()) + " entries, expected n_vocab " +
            std::to_string(n_vocab_));
  }
  const float* src = logits.data();
  float* dst = work_.data();
  for (std::size_t i = 0; i < work_.size(); ++i) {
    const float v = src[i];
    dst[i] = v == v ? v : -INFINITY;  // NaN -> -inf
  }
}

void Sampler::apply_bias_and_penalties() {
  for (const auto& [token, bias] : bias_) {
    float& l = work_[static_cast<std::size_t>(token)];
    l = bias <= kBanBias ? -INFINITY : l + bias;
  }
  const float rep = config_.repetition_penalty;
  const float freq = config_.frequency_penalty;
  const float pres = config_.presence_penalty;
  if (rep == 1.0f && freq == 0.0f && pres == 0.0f) return;
  for (const std::int32_t token : present_) {
    float& l = work_[static_cast<std::size_t>(token)];
    if (l == -INFINITY) continue;  // banned stays banned
    const auto count = static_cast<float>(counts_[static_cast<std::size_t>(token)]);
    l = l > 0.0f ? l / rep : l * rep;
    l -= freq * count + pres;
  }
}

std::int32_t Sampler::argmax() const {
  const float best = ops::row_max(work_.data(), static_cast<std::int64_t>(work_.size()));
  if (best == -INFINITY) invalid("every token is banned or has a -inf/NaN logit");
  const auto it = std::find(work_.begin(), work_.end(), best);
  return static_cast<std::int32_t>(it - work_.begin());
}

std::int32_t Sampler::sample(std::span<const float> logits) {
  load_logits(logits);
  apply_bias_and_penalties();
  if (config_.temperature <= 0.0f) return argmax();
  return sample_stochastic();
}

// Top-k on: a short list of candidates, filtered as lists.
std::int32_t Sampler::sample_top_k(float max_s) {
  const std::size_t count =
      engine::select_top_k(work_, static_cast<std::size_t>(config_.top_k), heap_, cand_);
  for (std::size_t i = 0; i < count; ++i) {
    const auto id = static_cast<std::size_t>(cand_[i]);
    prob_[id] = std::exp(work_[id] - max_s);
  }
  std::span<const std::int32_t> cand = std::span<const std::int32_t>(cand_).first(count);
  if (config_.top_p < 1.0f) {
    const std::size_t kept =
        engine::nucleus(cand, work_, prob_, max_s, config_.top_p, bucket_mass_, tail_, kept_);
    cand = std::span<const std::int32_t>(kept_).first(kept);
  }
  if (config_.min_p > 0.0f) {
    const std::size_t kept = engine::min_p_cut(cand, prob_, config_.min_p, kept_);
    cand = std::span<const std::int32_t>(kept_).first(kept);
  }
  return engine::draw(cand, prob_, uniform01(), block_sum_);
}

// Top-k off: every token is a candidate; filters zero the weights they drop.
std::int32_t Sampler::sample_dense(float max_s) {
  std::copy(work_.begin(), work_.end(), prob_.begin());
  ops::exp_shifted(prob_.data(), static_cast<std::int64_t>(prob_.size()), max_s);
  if (config_.top_p < 1.0f) {
    engine::nucleus_dense(work_, prob_, max_s, config_.top_p, bucket_mass_, bucket_, tail_);
  }
  if (config_.min_p > 0.0f) engine::min_p_dense(prob_, config_.min_p);
  return engine::draw_dense(prob_, uniform01(), block_sum_);
}

std::int32_t Sampler::sample_stochastic() {
  const float inv_t = 1.0f / config_.temperature;
  for (float& v : work_) v *= inv_t;
  float max_s = ops::row_max(work_.data(), static_cast<std::int64_t>(work_.size()));
  if (max_s == -INFINITY) invalid("every token is banned or has a -inf/NaN logit");
  if (max_s == INFINITY) {
    // Only the +inf tokens can be drawn, all equally likely.
    for (float& v : work_) v = v == INFINITY ? 0.0f : -INFINITY;
    max_s = 0.0f;
  }
  const bool top_k = config_.top_k > 0 && config_.top_k < n_vocab_;
  const std::int32_t token = top_k ? sample_top_k(max_s) : sample_dense(max_s);
  if (token < 0) invalid("no token has a positive probability");
  return token;
}

}  // namespace cnai
