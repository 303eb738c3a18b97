#include "engine/batch/ordered_delivery.hpp"

namespace cnai::batch {

std::uint64_t OrderedDelivery::assign(std::uint64_t caller) {
  std::lock_guard lock(mutex_);
  return callers_[caller].next_assigned++;
}

void OrderedDelivery::retract(std::uint64_t caller, std::uint64_t seq) {
  std::lock_guard lock(mutex_);
  Caller& c = callers_[caller];
  if (seq + 1 == c.next_assigned) --c.next_assigned;  // refused under the batcher's lock: nothing came after it
  if (c.next_assigned == c.next_delivered && c.parked.empty()) callers_.erase(caller);
}

void OrderedDelivery::deliver(std::vector<EntryPtr> finished) {
  std::unique_lock lock(mutex_);
  for (EntryPtr& e : finished) {
    if (e->caller == 0) {
      ready_.push_back(std::move(e));
      continue;
    }
    const std::uint64_t id = e->caller;
    Caller& c = callers_[id];
    c.parked.emplace(e->caller_seq, std::move(e));
    for (auto it = c.parked.find(c.next_delivered); it != c.parked.end(); it = c.parked.find(c.next_delivered)) {
      ready_.push_back(std::move(it->second));
      c.parked.erase(it);
      ++c.next_delivered;
    }
    if (c.next_assigned == c.next_delivered && c.parked.empty()) callers_.erase(id);
  }
  if (delivering_) return;  // the thread delivering now takes ours too
  delivering_ = true;
  while (!ready_.empty()) {
    EntryPtr e = std::move(ready_.front());
    ready_.pop_front();
    lock.unlock();
    e->item->finish(e->error);
    e.reset();
    lock.lock();
  }
  delivering_ = false;
}

}  // namespace cnai::batch
