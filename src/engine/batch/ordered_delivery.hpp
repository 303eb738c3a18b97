// OrderedDelivery — hands finished requests back: at once when they have no
// caller, else in each caller's submission order (a later one waits for the
// earlier ones). One thread at a time delivers and the others leave their
// results to it, so no lock is held while a callback runs and a callback may
// submit or cancel requests itself.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

#include "engine/batch/batch_queue.hpp"

namespace cnai::batch {

class OrderedDelivery {
 public:
  /// The next sequence number of `caller` (called in submission order).
  std::uint64_t assign(std::uint64_t caller);
  /// Forgets a number assigned to a request that was then refused.
  void retract(std::uint64_t caller, std::uint64_t seq);
  /// Delivers these (and any parked ones they unblock).
  void deliver(std::vector<EntryPtr> finished);

 private:
  struct Caller {
    std::uint64_t next_assigned = 0, next_delivered = 0;
    std::map<std::uint64_t, EntryPtr> parked;
  };
  std::mutex mutex_;
  std::map<std::uint64_t, Caller> callers_;
  std::deque<EntryPtr> ready_;
  bool delivering_ = false;
};

}  // namespace cnai::batch
