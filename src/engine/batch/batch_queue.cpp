#include "engine/batch/batch_queue.hpp"

#include <algorithm>
#include <string>

#include "cnai/core/error.hpp"

namespace cnai::batch {
namespace {

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorCode::invalid_argument, what); }

EntryPtr erase_entry(std::deque<EntryPtr>& q, const QueueEntry* e) {
  const auto it = std::find_if(q.begin(), q.end(), [&](const EntryPtr& p) { return p.get() == e; });
  if (it == q.end()) return nullptr;
  EntryPtr found = std::move(*it);
  q.erase(it);
  return found;
}

std::optional<time_point> earliest(std::optional<time_point> a, std::optional<time_point> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

}  // namespace

void validate_options(const DynamicBatcherOptions& o) {
  if (o.max_batch_size < 1) bad("max_batch_size must be at least 1");
  if (o.max_queue_delay.count() < 0) bad("max_queue_delay must not be negative");
  for (std::size_t p : o.preferred_batch_sizes)
    if (p < 1 || p > o.max_batch_size)
      bad("preferred batch size " + std::to_string(p) + " is outside 1 .. max_batch_size " +
          std::to_string(o.max_batch_size));
  if (o.priority_levels < 1) bad("priority_levels must be at least 1");
  if (o.default_priority < 0 || o.default_priority > o.priority_levels)
    bad("default_priority " + std::to_string(o.default_priority) + " is outside 0 .. priority_levels " +
        std::to_string(o.priority_levels));
  for (const auto& [level, policy] : o.priority_queue_policy) {
    if (level < 1 || level > o.priority_levels)
      bad("priority_queue_policy names level " + std::to_string(level) + ", outside 1 .. " +
          std::to_string(o.priority_levels));
    if (policy.default_timeout.count() < 0) bad("a queue policy's default_timeout must not be negative");
  }
  if (o.default_queue_policy.default_timeout.count() < 0) bad("default_queue_policy.default_timeout must not be negative");
}

BatchQueue::BatchQueue(const DynamicBatcherOptions& options)
    : options_(options),
      levels_(static_cast<std::size_t>(options.priority_levels)),
      level_sizes_(static_cast<std::size_t>(options.priority_levels), 0) {}

int BatchQueue::level_of(int priority) const {
  if (priority < 0 || priority > options_.priority_levels)
    bad(options_.name + ": priority " + std::to_string(priority) + " is outside 0 .. " +
        std::to_string(options_.priority_levels));
  const int p = priority != 0 ? priority
                : options_.default_priority != 0 ? options_.default_priority
                                                 : options_.priority_levels;
  return p - 1;
}

const QueuePolicy& BatchQueue::policy(int level) const {
  const auto it = options_.priority_queue_policy.find(level + 1);
  return it != options_.priority_queue_policy.end() ? it->second : options_.default_queue_policy;
}

void BatchQueue::push(EntryPtr e) {
  const auto l = static_cast<std::size_t>(e->level);
  const std::size_t cap = policy(e->level).max_queue_size;
  if (cap != 0 && level_sizes_[l] >= cap)
    throw Error(ErrorCode::overloaded, options_.name + ": the queue of priority " + std::to_string(e->level + 1) +
                                           " is full (" + std::to_string(cap) + " requests waiting)");
  e->state = EntryState::queued;
  levels_[l].push_back(std::move(e));
  ++level_sizes_[l];
  ++size_;
}

EntryPtr BatchQueue::remove(const QueueEntry* e) {
  if (e->state != EntryState::queued && e->state != EntryState::delayed) return nullptr;
  EntryPtr found = erase_entry(e->state == EntryState::queued ? levels_[static_cast<std::size_t>(e->level)] : delayed_, e);
  if (found) {
    --level_sizes_[static_cast<std::size_t>(e->level)];
    --size_;
  }
  return found;
}

std::vector<EntryPtr> BatchQueue::expire(time_point now) {
  std::vector<EntryPtr> failed;
  auto fail = [&](const EntryPtr& e, const char* why) {
    failed.push_back(e);
    e->error = std::make_exception_ptr(Error(ErrorCode::timeout, options_.name + ": " + why));
  };
  for (auto& q : levels_) {
    for (std::size_t i = 0; i < q.size();) {
      const EntryPtr e = q[i];
      const bool past_deadline = e->deadline && now >= *e->deadline;
      const bool past_timeout = e->timeout_at && now >= *e->timeout_at;
      if (!past_deadline && !past_timeout) {
        ++i;
        continue;
      }
      q.erase(q.begin() + static_cast<std::ptrdiff_t>(i));
      if (!past_deadline && e->action == TimeoutAction::delay) {
        e->state = EntryState::delayed;
        delayed_.push_back(e);  // still counted at its level
        ++delayed_total_;
        continue;
      }
      --level_sizes_[static_cast<std::size_t>(e->level)];
      --size_;
      fail(e, past_deadline ? "the request's deadline passed while it was queued"
                            : "the request timed out in the queue");
    }
  }
  for (std::size_t i = 0; i < delayed_.size();) {
    const EntryPtr e = delayed_[i];
    if (!(e->deadline && now >= *e->deadline)) {
      ++i;
      continue;
    }
    delayed_.erase(delayed_.begin() + static_cast<std::ptrdiff_t>(i));
    --level_sizes_[static_cast<std::size_t>(e->level)];
    --size_;
    fail(e, "the request's deadline passed while it was queued");
  }
  return failed;
}

// The anchor (the oldest request of the first non-empty source) always goes;
// the rest come from its level, then the lower levels, closest in length first
// when grouping, within max_batch_size and the token budget.
BatchQueue::Pick BatchQueue::pick(const EntryPtr& anchor, bool from_delayed) const {
  Pick p;
  p.chosen.push_back(anchor);
  std::size_t longest = anchor->length;
  auto consider = [&](std::vector<EntryPtr> candidates) {
    if (options_.group_by_length) {
      const auto far = [&](const EntryPtr& e) {
        return e->length > anchor->length ? e->length - anchor->length : anchor->length - e->length;
      };
      std::stable_sort(candidates.begin(), candidates.end(),
                       [&](const EntryPtr& a, const EntryPtr& b) { return far(a) < far(b); });
    }
    for (const EntryPtr& e : candidates) {
      if (p.chosen.size() >= options_.max_batch_size) return;
      const std::size_t l = std::max(longest, e->length);
      if (options_.max_batch_tokens != 0 && (p.chosen.size() + 1) * l > options_.max_batch_tokens) {
        p.left_out = true;
        if (!options_.group_by_length) return;  // first come, first served: nobody overtakes it
        continue;
      }
      p.chosen.push_back(e);
      longest = l;
    }
  };
  auto others = [&](const std::deque<EntryPtr>& q) {
    std::vector<EntryPtr> v;
    for (const EntryPtr& e : q)
      if (e != anchor) v.push_back(e);
    return v;
  };
  if (from_delayed) {
    consider(others(delayed_));
  } else {
    for (std::size_t l = static_cast<std::size_t>(anchor->level); l < levels_.size(); ++l) consider(others(levels_[l]));
  }
  return p;
}

std::optional<time_point> BatchQueue::next_expiry() const {
  std::optional<time_point> t;
  for (const auto& q : levels_)
    for (const EntryPtr& e : q) t = earliest(t, earliest(e->timeout_at, e->deadline));
  for (const EntryPtr& e : delayed_) t = earliest(t, e->deadline);
  return t;
}

BatchQueue::Decision BatchQueue::next_batch(time_point now) {
  Decision d;
  EntryPtr anchor;
  for (const auto& q : levels_) {
    if (!q.empty()) {
      anchor = q.front();
      break;
    }
  }
  const bool from_delayed = !anchor && !delayed_.empty();
  if (from_delayed) anchor = delayed_.front();
  if (!anchor) {
    d.wake = next_expiry();
    return d;
  }
  Pick p = pick(anchor, from_delayed);
  const time_point due = anchor->arrival + options_.max_queue_delay;
  bool go = from_delayed || p.left_out || p.chosen.size() >= options_.max_batch_size || now >= due;
  if (!go) {
    std::size_t preferred = 0;  // the largest preferred size this batch can fill
    for (std::size_t s : options_.preferred_batch_sizes)
      if (s <= p.chosen.size()) preferred = std::max(preferred, s);
    if (preferred != 0) {
      p.chosen.resize(preferred);
      go = true;
    }
  }
  if (!go) {
    d.wake = earliest(due, next_expiry());
    return d;
  }
  for (const EntryPtr& e : p.chosen) {
    remove(e.get());
    e->state = EntryState::running;
  }
  d.batch = std::move(p.chosen);
  return d;
}

std::vector<EntryPtr> BatchQueue::drain() {
  std::vector<EntryPtr> all;
  for (auto& q : levels_) {
    all.insert(all.end(), q.begin(), q.end());
    q.clear();
  }
  all.insert(all.end(), delayed_.begin(), delayed_.end());
  delayed_.clear();
  std::fill(level_sizes_.begin(), level_sizes_.end(), 0);
  size_ = 0;
  return all;
}

}  // namespace cnai::batch
