// DynamicBatcher — gathers requests from many threads into batches for one model
// function, with the knobs of Triton's dynamic batcher: max batch size, max queue
// delay, preferred batch sizes, priority levels, a queue policy per level (size
// bound, timeout with reject or delay, per-request overrides), cancellation and
// deadlines, results in order per caller, and batches grouped by length to limit
// padding. Generic: a host gives it its own model function (cnai's embedding
// engine gives it the encoder). Independent of the chat scheduler.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "cnai/core/error.hpp"

namespace cnai {

/// The time a DynamicBatcher reads: the steady clock, or a manual one that moves
/// only when told (tests of timing policies without sleeping).
class BatcherClock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;

  static std::shared_ptr<BatcherClock> steady();
  /// Starts at `start` (any value: only differences matter).
  static std::shared_ptr<BatcherClock> manual(time_point start = time_point(std::chrono::hours(1)));

  time_point now() const;
  bool is_manual() const noexcept { return manual_; }
  /// Moves a manual clock forward and wakes the batchers that use it.
  /// Error(invalid_argument) on the steady clock or for a negative step.
  void advance(duration step);

  /// Batchers on a manual clock are told of every advance (ids for removal).
  std::uint64_t add_listener(std::function<void()> on_advance);
  void remove_listener(std::uint64_t id);

  explicit BatcherClock(bool manual, time_point start);

 private:
  const bool manual_;
  mutable std::mutex time_mutex_;
  time_point now_;
  std::mutex listeners_mutex_;  // held while listeners run, so removal waits for them
  std::map<std::uint64_t, std::function<void()>> listeners_;
  std::uint64_t next_listener_ = 1;
};

enum class TimeoutAction {
  reject,  // a request still queued at its timeout fails with Error(timeout)
  delay,   // it stays queued but is served only when nothing else waits
};

/// Per priority level, as Triton's ModelQueuePolicy.
struct QueuePolicy {
  std::size_t max_queue_size = 0;  // requests waiting at this level; 0: unbounded
  TimeoutAction timeout_action = TimeoutAction::reject;
  std::chrono::microseconds default_timeout{0};  // time a request may wait in the queue; 0: no limit
  bool allow_timeout_override = false;           // a request's own timeout replaces the default
};

struct DynamicBatcherOptions {
  std::size_t max_batch_size = 8;
  /// How long the oldest waiting request may be held back for a fuller batch;
  /// 0: a batch leaves as soon as the model function is free.
  std::chrono::microseconds max_queue_delay{0};
  /// Batch sizes the model runs best at: when one can be formed it leaves at
  /// once (the largest such), without waiting for max_queue_delay.
  std::vector<std::size_t> preferred_batch_sizes;
  /// Priorities 1 (served first) .. priority_levels.
  int priority_levels = 1;
  /// The level of requests that give priority 0; 0 here: the lowest level.
  int default_priority = 0;
  QueuePolicy default_queue_policy;
  std::map<int, QueuePolicy> priority_queue_policy;  // level -> its policy (others: the default)
  /// A batch's padded cost — members x the longest member's length — stays at
  /// or below this (0: no bound); a single longer request still runs alone.
  std::size_t max_batch_tokens = 0;
  /// Fill a batch with the requests closest in length to its oldest member
  /// (within a priority level) rather than strictly first come, first served.
  bool group_by_length = true;
  std::shared_ptr<BatcherClock> clock;  // null: the steady clock
  std::string name = "dynamic batcher";  // in error messages
};

/// One request's own settings.
struct BatchRequestOptions {
  int priority = 0;  // 1 .. priority_levels; 0: the default level
  /// Queue timeout replacing the level's default, when its policy allows overrides.
  std::optional<std::chrono::microseconds> timeout;
  /// Hard deadline: once passed while queued the request fails with Error(timeout),
  /// whatever the policy (its caller has stopped waiting).
  std::optional<BatcherClock::time_point> deadline;
  /// A stop request while queued fails the request with Error(cancelled) at once.
  std::stop_token cancel;
  /// Requests of one caller (non-zero) get their results in submission order.
  std::uint64_t caller = 0;
  /// Size for grouping and max_batch_tokens (e.g. tokens); at least 1.
  std::size_t length = 1;
};

struct DynamicBatcherStats {
  std::size_t queued = 0;   // waiting, delayed ones included
  std::size_t running = 0;  // in the batch being run
  std::uint64_t batches = 0, items = 0;
  std::uint64_t rejected_full = 0, timed_out = 0, cancelled = 0, delayed = 0;
  std::uint64_t real_tokens = 0, padded_tokens = 0;  // sum of lengths; sum of size x longest
};

namespace batch {

/// The type-erased part of a request the batcher queues; DynamicBatcher adds
/// the input, the output and how to hand them back.
class Item {
 public:
  virtual ~Item() = default;
  /// Called exactly once: error is null when the model function succeeded.
  virtual void finish(std::exception_ptr error) noexcept = 0;
};

/// The scheduling core, independent of the request types.
class BatcherCore {
 public:
  using RunBatch = std::function<void(std::span<Item* const> batch)>;
  BatcherCore(DynamicBatcherOptions options, RunBatch run);
  ~BatcherCore();
  BatcherCore(const BatcherCore&) = delete;
  BatcherCore& operator=(const BatcherCore&) = delete;
  void submit(std::shared_ptr<Item> item, const BatchRequestOptions& options);
  DynamicBatcherStats stats() const;
  const DynamicBatcherOptions& options() const noexcept;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace batch

/// Thread-safe. The model function runs on the batcher's own thread, one batch
/// at a time; callbacks run on that thread too (or on a canceller's thread).
template <class In, class Out>
class DynamicBatcher {
 public:
  /// Fills outputs[i] for inputs[i]. An exception fails every request of the batch with it.
  using ModelFunction = std::function<void(std::span<const In* const> inputs, std::span<Out> outputs)>;
  /// result is null exactly when error is set.
  using Callback = std::function<void(Out* result, std::exception_ptr error)>;

  /// Errors: invalid_argument for inconsistent options (named).
  DynamicBatcher(DynamicBatcherOptions options, ModelFunction model)
      : model_(std::move(model)),
        core_(std::move(options), [this](std::span<batch::Item* const> items) { run(items); }) {}
  /// Queued requests fail with Error(unavailable); a running batch finishes first.
  ~DynamicBatcher() = default;

  /// Queues one request. Throws at once: Error(overloaded) when its level's
  /// queue is full, Error(cancelled) when `options.cancel` is already stopped,
  /// Error(invalid_argument) for a priority outside 0 .. priority_levels or length 0.
  void submit(In input, const BatchRequestOptions& options, Callback done) {
    core_.submit(std::make_shared<Entry>(std::move(input), std::move(done)), options);
  }
  /// As above; the future holds the output or the error (timeout, cancelled, unavailable, the model's).
  std::future<Out> submit(In input, const BatchRequestOptions& options = {}) {
    auto promise = std::make_shared<std::promise<Out>>();
    std::future<Out> f = promise->get_future();
    submit(std::move(input), options, [promise](Out* r, std::exception_ptr e) {
      if (e) promise->set_exception(e);
      else promise->set_value(std::move(*r));
    });
    return f;
  }

  DynamicBatcherStats stats() const { return core_.stats(); }
  const DynamicBatcherOptions& options() const noexcept { return core_.options(); }

 private:
  struct Entry final : batch::Item {
    Entry(In in, Callback cb) : input(std::move(in)), done(std::move(cb)) {}
    void finish(std::exception_ptr error) noexcept override {
      try {
        done(error ? nullptr : &output, error);
      } catch (...) {  // a throwing callback must not take the batcher down
      }
    }
    In input;
    Out output{};
    Callback done;
  };

  void run(std::span<batch::Item* const> items) {
    std::vector<const In*> inputs;
    inputs.reserve(items.size());
    for (batch::Item* item : items) inputs.push_back(&static_cast<Entry*>(item)->input);
    std::vector<Out> outputs(items.size());
    model_(inputs, outputs);
    for (std::size_t i = 0; i < items.size(); ++i) static_cast<Entry*>(items[i])->output = std::move(outputs[i]);
  }

  ModelFunction model_;
  batch::BatcherCore core_;  // last: its destructor stops the thread that calls run()
};

}  // namespace cnai
