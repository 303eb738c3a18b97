// The token loop of a blocking generate(): reuse the cached prefix, evaluate
// the prompt, then let the Sequence sample, detokenize and match stops while
// each sampled token is evaluated in turn.
#include <algorithm>

#include "cnai/core/error.hpp"
#include "engine/engine_state.hpp"
#include "engine/sequence.hpp"

namespace cnai {
namespace {

using engine::Clock;

std::size_t common_prefix(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b) {
  return static_cast<std::size_t>(std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first - a.begin());
}

// Hands the text that became final to the caller; false from it cancels.
void deliver(engine::Sequence& seq, const TextCallback& on_text) {
  const auto delta = seq.take_delta();
  if (delta && on_text && !on_text(delta->text, delta->tokens))
    throw Error(ErrorCode::cancelled, "generation cancelled by the caller");
}

// Between steps: a stop request or a passed deadline ends the generation.
void check_continue(const GenerateRequest& request, std::size_t generated) {
  if (request.cancel.stop_requested())
    throw Error(ErrorCode::cancelled, "generation cancelled after " + std::to_string(generated) + " tokens");
  if (request.deadline && Clock::now() >= *request.deadline)
    throw Error(ErrorCode::timeout, "generation passed its deadline after " + std::to_string(generated) + " tokens");
}

}  // namespace

GenerateResult LocalEngine::generate(const GenerateRequest& request, const TextCallback& on_text) {
  Impl& s = *impl_;
  const auto arrival = Clock::now();
  s.active.fetch_add(1, std::memory_order_relaxed);
  struct Leave {
    std::atomic<int>& n;
    ~Leave() { n.fetch_sub(1, std::memory_order_relaxed); }
  } leave{s.active};
  std::lock_guard lock(s.session_mutex);
  if (request.cancel.stop_requested()) throw Error(ErrorCode::cancelled, "generation cancelled before it started");
  Context& ctx = *s.context;
  engine::check_generate_request(request, ctx.n_ctx());
  engine::Sequence seq(request, SamplerConfig::from(engine::merge_sampling(request.sampling, s.options.default_sampling)),
                       s.tokenizer, ctx.n_ctx(), arrival);

  // Reuse the longest cached prefix; at least one prompt token is evaluated so
  // there are logits to sample from.
  std::size_t keep = s.options.reuse_prefix ? common_prefix(s.cached, request.prompt) : 0;
  keep = std::min(keep, request.prompt.size() - 1);
  ctx.truncate(static_cast<int>(keep));
  s.cached.resize(keep);
  seq.start_prefill(Clock::now(), keep);
  try {
    const std::span<const std::int32_t> fresh(request.prompt.data() + keep, request.prompt.size() - keep);
    std::span<const float> logits = ctx.eval(fresh);
    s.cached.insert(s.cached.end(), fresh.begin(), fresh.end());
    seq.end_prefill(Clock::now());
    for (;;) {
      seq.sample(logits);
      deliver(seq, on_text);
      if (seq.finished()) break;
      check_continue(request, seq.generated().size());
      const std::int32_t token = seq.generated().back();
      logits = ctx.eval(std::span<const std::int32_t>(&token, 1));
      s.cached.push_back(token);
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
  return seq.result(Clock::now());
}

}  // namespace cnai
