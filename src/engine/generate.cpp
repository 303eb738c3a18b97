// The token-level calls: generate() submits to the scheduling loop and runs
// the caller's callback on the caller's thread as text arrives; submit()
// returns a handle at once and leaves callbacks to the engine's runner.
#include "cnai/core/error.hpp"
#include "engine/engine_state.hpp"
#include "engine/request_state.hpp"

namespace cnai {

SamplerConfig LocalEngine::Impl::sampler_config(const SamplingParams& request) const {
  return SamplerConfig::from(engine::merge_sampling(request, options.default_sampling));
}

GenerateResult LocalEngine::generate(const GenerateRequest& request, const TextCallback& on_text) {
  require_decoder("generate");
  if (request.cancel.stop_requested()) throw Error(ErrorCode::cancelled, "generation cancelled before it started");
  const auto state =
      impl_->batch->submit(request, impl_->sampler_config(request.sampling), {}, {}, static_cast<bool>(on_text));
  engine::RequestState& s = *state;
  bool refused = false;
  std::unique_lock lock(s.m);
  for (;;) {
    s.cv.wait(lock, [&] { return !s.deltas.empty() || s.finished; });
    if (s.deltas.empty()) break;
    const engine::Delta d = std::move(s.deltas.front());
    s.deltas.pop_front();
    lock.unlock();
    try {
      if (!refused && !on_text(d.text, d.tokens)) {
        refused = true;
        s.cancel();
      }
    } catch (...) {
      s.cancel();
      throw;
    }
    lock.lock();
  }
  if (refused) throw Error(ErrorCode::cancelled, "generation cancelled by the caller");
  if (s.error) std::rethrow_exception(s.error);
  return *s.result;
}

GenerationHandle LocalEngine::submit(const GenerateRequest& request, TextCallback on_text) {
  require_decoder("submit");
  return GenerationHandle(
      impl_->batch->submit(request, impl_->sampler_config(request.sampling), std::move(on_text), {}, false));
}

EngineStats LocalEngine::stats() const {
  require_decoder("stats");
  return impl_->batch->stats();
}

void GenerationHandle::cancel() const {
  if (state_) state_->cancel();
}

bool GenerationHandle::done() const {
  if (!state_) return true;
  std::lock_guard lock(state_->m);
  return state_->complete_locked();
}

bool GenerationHandle::wait_for(std::chrono::milliseconds timeout) const {
  if (!state_) return true;
  std::unique_lock lock(state_->m);
  return state_->cv.wait_for(lock, timeout, [&] { return state_->complete_locked(); });
}

GenerateResult GenerationHandle::get() const {
  if (!state_) throw Error(ErrorCode::invalid_argument, "GenerationHandle: empty handle");
  std::unique_lock lock(state_->m);
  state_->cv.wait(lock, [&] { return state_->complete_locked(); });
  if (state_->error) std::rethrow_exception(state_->error);
  return *state_->result;
}

RequestStats GenerationHandle::stats() const { return state_ ? state_->stats() : RequestStats{}; }

}  // namespace cnai
