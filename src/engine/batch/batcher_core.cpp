// BatcherCore: one worker thread forms batches from the BatchQueue and runs
// them; submitters, cancellers and a manual clock wake it through one
// condition variable. Results leave through OrderedDelivery, outside the lock.
// Entries are only ever destroyed outside the lock: destroying one waits for
// its cancel callback, which takes the lock.
#include <condition_variable>
#include <thread>

#include "cnai/core/error.hpp"
#include "engine/batch/batch_queue.hpp"
#include "engine/batch/ordered_delivery.hpp"

namespace cnai::batch {

struct BatcherCore::Impl : std::enable_shared_from_this<BatcherCore::Impl> {
  Impl(DynamicBatcherOptions o, RunBatch r)
      : options(std::move(o)), run(std::move(r)), clock(options.clock ? options.clock : BatcherClock::steady()),
        queue(options) {}

  void start();
  void stop();
  void submit(std::shared_ptr<Item> item, const BatchRequestOptions& ro);
  void cancel(QueueEntry* raw);
  void worker();
  void run_batch(std::vector<EntryPtr> batch);
  void wait(std::unique_lock<std::mutex>& lock, std::optional<time_point> wake);
  void finish(std::vector<EntryPtr> done);

  const DynamicBatcherOptions options;
  const RunBatch run;
  const std::shared_ptr<BatcherClock> clock;
  mutable std::mutex mutex;
  std::condition_variable cv;
  BatchQueue queue;
  OrderedDelivery delivery;
  DynamicBatcherStats stats;
  std::uint64_t next_order = 0;
  bool stopping = false;
  std::uint64_t listener = 0;
  std::thread thread;
};

void BatcherCore::Impl::start() {
  if (clock->is_manual()) {
    listener = clock->add_listener([this] {
      std::lock_guard lock(mutex);
      cv.notify_all();
    });
  }
  thread = std::thread([this] { worker(); });
}

void BatcherCore::Impl::stop() {
  if (listener != 0) clock->remove_listener(listener);
  {
    std::lock_guard lock(mutex);
    stopping = true;
  }
  cv.notify_all();
  if (thread.joinable()) thread.join();
  std::vector<EntryPtr> left;
  {
    std::lock_guard lock(mutex);
    left = queue.drain();
    for (const EntryPtr& e : left) {
      e->state = EntryState::done;
      e->error = std::make_exception_ptr(Error(ErrorCode::unavailable, options.name + " is shutting down"));
    }
    stats.queued = 0;
  }
  finish(std::move(left));
}

void BatcherCore::Impl::finish(std::vector<EntryPtr> done) {
  for (const EntryPtr& e : done) e->on_cancel.reset();  // waits for a cancel callback running now
  delivery.deliver(std::move(done));
}

void BatcherCore::Impl::submit(std::shared_ptr<Item> item, const BatchRequestOptions& ro) {
  if (ro.length == 0) throw Error(ErrorCode::invalid_argument, options.name + ": a request's length must be at least 1");
  auto e = std::make_shared<QueueEntry>();
  e->item = std::move(item);
  e->level = queue.level_of(ro.priority);
  e->length = ro.length;
  e->deadline = ro.deadline;
  e->caller = ro.caller;
  const QueuePolicy& policy = queue.policy(e->level);
  e->action = policy.timeout_action;
  e->state = EntryState::done;  // until queued: a cancel callback finds nothing to do
  if (ro.cancel.stop_possible()) {
    std::weak_ptr<Impl> self = weak_from_this();
    QueueEntry* raw = e.get();
    e->on_cancel = std::make_unique<std::stop_callback<std::function<void()>>>(
        ro.cancel, std::function<void()>([self, raw] {
          if (auto impl = self.lock()) impl->cancel(raw);
        }));
  }
  {
    std::lock_guard lock(mutex);
    // Checked under the lock: a stop requested before this point is seen here,
    // one requested after it finds the entry queued.
    if (ro.cancel.stop_requested())
      throw Error(ErrorCode::cancelled, options.name + ": cancelled before it was queued");
    if (stopping) throw Error(ErrorCode::unavailable, options.name + " is shutting down");
    e->arrival = clock->now();
    e->order = next_order++;
    const auto timeout = policy.allow_timeout_override && ro.timeout ? *ro.timeout : policy.default_timeout;
    if (timeout.count() > 0) e->timeout_at = e->arrival + timeout;
    if (e->caller != 0) e->caller_seq = delivery.assign(e->caller);
    try {
      queue.push(e);
    } catch (const Error&) {
      if (e->caller != 0) delivery.retract(e->caller, e->caller_seq);
      ++stats.rejected_full;
      throw;
    }
    stats.queued = queue.size();
  }
  cv.notify_all();
}

// From a stop_callback, on the thread that asked for the stop.
void BatcherCore::Impl::cancel(QueueEntry* raw) {
  EntryPtr e;
  {
    std::lock_guard lock(mutex);
    e = queue.remove(raw);  // null unless still waiting (running ones finish normally)
    if (!e) return;
    e->state = EntryState::done;
    e->error = std::make_exception_ptr(Error(ErrorCode::cancelled, options.name + ": the request was cancelled"));
    ++stats.cancelled;
    stats.queued = queue.size();
  }
  cv.notify_all();
  // Not finish(): this runs inside e's own stop_callback, which must not wait for itself.
  delivery.deliver({std::move(e)});
}

void BatcherCore::Impl::wait(std::unique_lock<std::mutex>& lock, std::optional<time_point> wake) {
  if (clock->is_manual() || !wake) {
    cv.wait(lock);  // a submit, a cancel, a clock advance or stop() wakes us
  } else {
    cv.wait_until(lock, *wake);
  }
}

void BatcherCore::Impl::run_batch(std::vector<EntryPtr> batch) {
  std::vector<Item*> items;
  items.reserve(batch.size());
  for (const EntryPtr& e : batch) items.push_back(e->item.get());
  std::exception_ptr error;
  try {
    run(items);
  } catch (...) {
    error = std::current_exception();
  }
  {
    std::lock_guard lock(mutex);
    for (const EntryPtr& e : batch) {
      e->state = EntryState::done;
      e->error = error;
    }
    stats.running = 0;
  }
  finish(std::move(batch));
}

void BatcherCore::Impl::worker() {
  std::unique_lock lock(mutex);
  while (!stopping) {
    const time_point now = clock->now();
    std::vector<EntryPtr> failed = queue.expire(now);
    if (!failed.empty()) {
      stats.timed_out += failed.size();
      for (const EntryPtr& e : failed) e->state = EntryState::done;
      stats.queued = queue.size();
      lock.unlock();
      finish(std::move(failed));
      lock.lock();
      continue;
    }
    stats.delayed = queue.delayed_count();
    BatchQueue::Decision d = queue.next_batch(now);
    if (d.batch.empty()) {
      wait(lock, d.wake);
      continue;
    }
    stats.queued = queue.size();
    stats.running = d.batch.size();
    ++stats.batches;
    std::size_t longest = 0;
    for (const EntryPtr& e : d.batch) {
      stats.real_tokens += e->length;
      longest = std::max(longest, e->length);
    }
    stats.items += d.batch.size();
    stats.padded_tokens += longest * d.batch.size();
    lock.unlock();
    run_batch(std::move(d.batch));
    lock.lock();
  }
}

BatcherCore::BatcherCore(DynamicBatcherOptions options, RunBatch run) {
  validate_options(options);
  impl_ = std::make_shared<Impl>(std::move(options), std::move(run));
  impl_->start();
}

BatcherCore::~BatcherCore() { impl_->stop(); }

void BatcherCore::submit(std::shared_ptr<Item> item, const BatchRequestOptions& options) {
  impl_->submit(std::move(item), options);
}

DynamicBatcherStats BatcherCore::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

const DynamicBatcherOptions& BatcherCore::options() const noexcept { return impl_->options; }

}  // namespace cnai::batch
