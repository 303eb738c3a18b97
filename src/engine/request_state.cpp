#include "engine/request_state.hpp"

#include "cnai/core/error.hpp"

namespace cnai::engine {

RequestStats RequestState::stats() const {
  RequestStats r;
  r.phase = static_cast<RequestPhase>(phase.load(std::memory_order_relaxed));
  r.prompt_tokens = prompt_tokens.load(std::memory_order_relaxed);
  r.cached_prompt_tokens = cached_tokens.load(std::memory_order_relaxed);
  r.generated_tokens = generated.load(std::memory_order_relaxed);
  r.preemptions = preemptions.load(std::memory_order_relaxed);
  const std::int64_t start = prefill_start_ns.load(std::memory_order_relaxed);
  const std::int64_t first = first_token_ns.load(std::memory_order_relaxed);
  r.queue_ms = start > 0 ? static_cast<double>(start) / 1e6
                         : std::chrono::duration<double, std::milli>(Clock::now() - arrival).count();
  r.time_to_first_token_ms = static_cast<double>(first) / 1e6;
  return r;
}

void RequestState::notify_locked(const std::shared_ptr<RequestState>& self) {
  cv.notify_all();
  if (runner && !scheduled) {
    scheduled = true;
    runner->schedule(self);
  }
}

CallbackRunner::CallbackRunner(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

CallbackRunner::~CallbackRunner() {
  {
    std::lock_guard lock(m_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void CallbackRunner::schedule(std::shared_ptr<RequestState> state) {
  {
    std::lock_guard lock(m_);
    ready_.push_back(std::move(state));
  }
  cv_.notify_one();
}

void CallbackRunner::work() {
  for (;;) {
    std::shared_ptr<RequestState> s;
    {
      std::unique_lock lock(m_);
      cv_.wait(lock, [&] { return stop_ || !ready_.empty(); });
      if (ready_.empty()) return;  // stopping, and nothing left to deliver
      s = std::move(ready_.front());
      ready_.pop_front();
    }
    drain(*s);
  }
}

// Delivers what the request has, with no lock held while user code runs; the
// request is rescheduled by notify_locked if more arrives after we let go.
void CallbackRunner::drain(RequestState& s) {
  std::unique_lock lock(s.m);
  for (;;) {
    if (!s.deltas.empty()) {
      std::deque<Delta> batch;
      batch.swap(s.deltas);
      lock.unlock();
      for (const Delta& d : batch) {
        if (s.callback_cancelled || !s.on_text) continue;
        bool go = false;
        try {
          go = s.on_text(d.text, d.tokens);
        } catch (...) {
          go = false;  // a throwing callback cancels its own request only
        }
        if (!go) {
          s.callback_cancelled = true;
          s.cancel();
        }
      }
      lock.lock();
      continue;
    }
    if (s.finished && !s.delivered) {
      if (s.callback_cancelled && !s.error) {  // the caller's "no" wins over a finish in the same step
        s.result.reset();
        s.error = std::make_exception_ptr(Error(ErrorCode::cancelled, "generation cancelled by the callback"));
      }
      const GenerateResult* result = s.result ? &*s.result : nullptr;
      std::exception_ptr error = s.error;
      lock.unlock();
      if (s.on_done) {
        try {
          s.on_done(result, error);
        } catch (...) {
        }
      }
      lock.lock();
      s.delivered = true;
      s.cv.notify_all();
    }
    s.scheduled = false;
    return;
  }
}

}  // namespace cnai::engine
