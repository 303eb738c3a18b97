#include "engine/scheduler.hpp"

#include <algorithm>
#include <climits>

namespace cnai::engine {
namespace {

// Waiting order: higher priority first, then earlier arrival.
bool before(const SeqEntry& a, const SeqEntry& b) {
  return a.priority != b.priority ? a.priority > b.priority : a.order < b.order;
}

}  // namespace

Scheduler::Scheduler(KvManager& kv, int max_batched_tokens, int max_sequences)
    : kv_(kv), max_tokens_(max_batched_tokens), max_seqs_(max_sequences) {}

void Scheduler::add(std::unique_ptr<SeqEntry> entry) {
  entry->in_running = false;
  const auto at = std::upper_bound(waiting_.begin(), waiting_.end(), entry,
                                   [](const auto& a, const auto& b) { return before(*a, *b); });
  waiting_.insert(at, std::move(entry));
}

std::unique_ptr<SeqEntry> Scheduler::remove(SeqEntry* entry) {
  for (auto* list : {&running_, &waiting_}) {
    const auto it = std::find_if(list->begin(), list->end(), [&](const auto& e) { return e.get() == entry; });
    if (it == list->end()) continue;
    std::unique_ptr<SeqEntry> owned = std::move(*it);
    list->erase(it);
    kv_.release(owned->kv);
    owned->in_running = false;
    return owned;
  }
  return nullptr;
}

// The running sequence to preempt: the lowest priority (below `below`), and
// of those the latest to arrive.
std::optional<std::size_t> Scheduler::victim(int below) const {
  std::optional<std::size_t> pick;
  for (std::size_t i = 0; i < running_.size(); ++i) {
    const SeqEntry& e = *running_[i];
    if (e.priority >= below) continue;
    if (!pick || e.priority < running_[*pick]->priority ||
        (e.priority == running_[*pick]->priority && e.order > running_[*pick]->order))
      pick = i;
  }
  return pick;
}

void Scheduler::preempt(std::size_t i, StepPlan& plan, int& budget) {
  std::unique_ptr<SeqEntry> e = std::move(running_[i]);
  running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(i));
  if (e->n_new > 0) {
    budget += static_cast<int>(e->n_new);
    e->n_new = 0;
    plan.rows.erase(std::find(plan.rows.begin(), plan.rows.end(), e.get()));
  }
  plan.admitted.erase(std::remove(plan.admitted.begin(), plan.admitted.end(), e.get()), plan.admitted.end());
  kv_.release(e->kv);  // recomputed when admitted again: its tokens are all kept
  e->req->preemptions.fetch_add(1, std::memory_order_relaxed);
  e->req->phase.store(static_cast<int>(RequestPhase::queued), std::memory_order_relaxed);
  ++preemptions_;
  ++plan.preempted;
  add(std::move(e));
}

// Blocks for e's positions [0, upto), preempting others (or e itself) when the
// pool is out of them. False when e was preempted.
bool Scheduler::fit(SeqEntry& e, std::size_t upto, StepPlan& plan, int& budget) {
  while (!kv_.reserve(e.kv, upto)) {
    const auto v = victim(INT_MAX);
    if (!v) return false;
    const bool self = running_[*v].get() == &e;
    preempt(*v, plan, budget);
    if (self) return false;
  }
  return true;
}

bool Scheduler::admit(StepPlan& plan, int& budget) {
  SeqEntry* e = waiting_.front().get();
  std::size_t hits = 0;
  for (;;) {
    hits = kv_.cached_blocks(*e->seq, e->kv);
    const std::size_t need = kv_.blocks_for(e->seq->n_tokens()) - hits;
    if (kv_.headroom(*e->seq, e->kv, hits, need) >= 0) break;
    // Only a lower priority gives way to a waiting request.
    const auto v = victim(e->priority);
    if (!v) return false;
    preempt(*v, plan, budget);
  }
  std::unique_ptr<SeqEntry> owned = std::move(waiting_.front());
  waiting_.erase(waiting_.begin());
  kv_.take_prefix(*e->seq, e->kv, hits);
  kv_.reserve(e->kv, e->seq->n_tokens());  // fits: headroom was checked
  e->n_new = std::min(e->seq->n_tokens() - e->kv.computed, static_cast<std::size_t>(budget));
  budget -= static_cast<int>(e->n_new);
  e->in_running = true;
  plan.rows.push_back(e);
  plan.admitted.push_back(e);
  running_.push_back(std::move(owned));
  return true;
}

StepPlan Scheduler::schedule() {
  StepPlan plan;
  int budget = max_tokens_;
  for (auto& e : running_) e->n_new = 0;
  // Pass 0: the next token of every decoding sequence; pass 1: prompt chunks.
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<SeqEntry*> snapshot;
    for (auto& e : running_) snapshot.push_back(e.get());
    for (SeqEntry* e : snapshot) {
      if (budget <= 0) break;
      if (!e->in_running || e->n_new > 0) continue;
      const std::size_t remaining = e->seq->n_tokens() - e->kv.computed;
      if ((remaining == 1) != (pass == 0)) continue;
      const std::size_t n = std::min(remaining, static_cast<std::size_t>(budget));
      if (!fit(*e, e->kv.computed + n, plan, budget)) continue;
      e->n_new = n;
      budget -= static_cast<int>(n);
      plan.rows.push_back(e);
    }
  }
  while (budget > 0 && static_cast<int>(running_.size()) < max_seqs_ && !waiting_.empty())
    if (!admit(plan, budget)) break;
  return plan;
}

}  // namespace cnai::engine
