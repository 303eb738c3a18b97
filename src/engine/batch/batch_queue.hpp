// BatchQueue — the batcher's decisions without threads: which requests wait at
// which priority level, which have timed out (rejected, or delayed behind the
// rest), and when the next batch leaves and with whom. The core calls it under
// its lock; tests drive it with explicit times.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <stop_token>
#include <vector>

#include "cnai/engine/dynamic_batcher.hpp"

namespace cnai::batch {

using time_point = BatcherClock::time_point;

enum class EntryState { queued, delayed, running, done };

struct QueueEntry {
  std::shared_ptr<Item> item;
  int level = 0;  // 0: the highest priority
  std::size_t length = 1;
  time_point arrival{};
  std::uint64_t order = 0;                // arrival number: ties and FIFO
  std::optional<time_point> timeout_at;   // queue timeout (policy default or override)
  std::optional<time_point> deadline;     // hard
  TimeoutAction action = TimeoutAction::reject;
  std::uint64_t caller = 0, caller_seq = 0;
  EntryState state = EntryState::queued;
  std::exception_ptr error;  // the result to deliver: null for success
  std::unique_ptr<std::stop_callback<std::function<void()>>> on_cancel;
};

using EntryPtr = std::shared_ptr<QueueEntry>;

class BatchQueue {
 public:
  explicit BatchQueue(const DynamicBatcherOptions& options);

  /// The 0-based level of a request priority (0: the default level).
  int level_of(int priority) const;
  const QueuePolicy& policy(int level) const;

  /// Error(overloaded) when the entry's level holds max_queue_size requests.
  void push(EntryPtr entry);
  /// The entry, removed, when it was waiting; else null.
  EntryPtr remove(const QueueEntry* entry);
  /// Requests past their hard deadline, or their queue timeout with the reject
  /// action, leave and are returned (their error set); delay-action ones move
  /// behind everything else.
  std::vector<EntryPtr> expire(time_point now);

  struct Decision {
    std::vector<EntryPtr> batch;     // leaves now (removed from the queue) when not empty
    std::optional<time_point> wake;  // else: look again then (or when something changes)
  };
  Decision next_batch(time_point now);

  std::size_t size() const noexcept { return size_; }
  std::uint64_t delayed_count() const noexcept { return delayed_total_; }
  std::vector<EntryPtr> drain();

 private:
  struct Pick {
    std::vector<EntryPtr> chosen;
    bool left_out = false;  // an eligible request did not fit the token budget
  };
  Pick pick(const EntryPtr& anchor, bool from_delayed) const;
  std::optional<time_point> next_expiry() const;

  const DynamicBatcherOptions& options_;
  std::vector<std::deque<EntryPtr>> levels_;  // waiting, FIFO per level
  std::deque<EntryPtr> delayed_;              // timed out with the delay action
  std::vector<std::size_t> level_sizes_;      // waiting + delayed, per level
  std::size_t size_ = 0;
  std::uint64_t delayed_total_ = 0;
};

/// Checks options once (Error(invalid_argument) naming the field).
void validate_options(const DynamicBatcherOptions& options);

}  // namespace cnai::batch
