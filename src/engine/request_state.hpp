// RequestState — what a submitted request and its handle share: the text the
// scheduling loop has produced and not yet delivered, the outcome, the cancel
// flag and the progress counters. The loop only appends under the state's own
// mutex and never calls out; the deliverer (the caller's thread for blocking
// calls, a CallbackRunner thread for submit()) takes events and runs the
// callbacks with no lock held.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "cnai/engine/local_engine.hpp"
#include "engine/sequence.hpp"

namespace cnai::engine {

struct RequestState {
  /// For submit(): run on a callback thread with each delta, then once with
  /// the outcome (result or error). Empty for blocking calls (pulled instead).
  TextCallback on_text;
  std::function<void(const GenerateResult*, std::exception_ptr)> on_done;
  bool keep_deltas = false;                // someone reads the text (pulled or pushed)
  class CallbackRunner* runner = nullptr;  // push mode: who runs on_text / on_done

  std::atomic<bool> cancel_requested{false};
  Clock::time_point arrival{};

  // Progress, written by the loop, read by stats() (relaxed: a snapshot).
  std::atomic<int> phase{static_cast<int>(RequestPhase::queued)};
  std::atomic<std::int64_t> prompt_tokens{0}, cached_tokens{0}, generated{0};
  std::atomic<int> preemptions{0};
  std::atomic<std::int64_t> prefill_start_ns{0}, first_token_ns{0};  // since arrival; 0: not yet

  mutable std::mutex m;
  std::condition_variable cv;
  std::deque<Delta> deltas;  // produced, not yet delivered
  bool finished = false;     // the loop is done with it (result or error set)
  bool delivered = false;    // every event, the outcome included, was delivered
  bool scheduled = false;    // queued on (or running in) a CallbackRunner
  bool callback_cancelled = false;  // on_text returned false (runner only)
  std::optional<GenerateResult> result;
  std::exception_ptr error;

  /// Seen by the loop at its next step (it only sleeps with nothing to run).
  void cancel() { cancel_requested.store(true, std::memory_order_relaxed); }
  RequestStats stats() const;
  /// What waiters wait for: the loop is done and, in push mode, on_done ran.
  bool complete_locked() const noexcept { return runner ? delivered : finished; }
  /// After the loop appended an event (mutex held): wake pullers, or hand the
  /// request to its runner.
  void notify_locked(const std::shared_ptr<RequestState>& self);
};

/// Runs submit() callbacks: each request's events in order on one thread at a
/// time, different requests in parallel on `threads` threads. A slow callback
/// holds back its own request only (and one thread).
class CallbackRunner {
 public:
  explicit CallbackRunner(int threads);
  ~CallbackRunner();
  CallbackRunner(const CallbackRunner&) = delete;
  CallbackRunner& operator=(const CallbackRunner&) = delete;
  /// Called (under the state's mutex) when it has new events.
  void schedule(std::shared_ptr<RequestState> state);

 private:
  void work();
  void drain(RequestState& s);
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<RequestState>> ready_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cnai::engine
