// Scheduler — decides what each forward pass evaluates (vLLM v1's
// scheduler.py): every step one batch under a token budget, the next token of
// every running sequence first, then chunks of prompts still being evaluated,
// then newly admitted requests (highest priority first, equal priorities in
// arrival order). A request is admitted when the KV its prompt needs is free;
// when a running sequence needs a block and none is free, the lowest-priority,
// latest-arrived sequence is preempted: its blocks are freed and it waits to
// be recomputed (its tokens so far are kept, so nothing is lost or repeated).
// Not thread-safe: the scheduling loop alone uses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <vector>

#include "engine/kv_manager.hpp"
#include "engine/request_state.hpp"
#include "engine/sequence.hpp"

namespace cnai::engine {

/// One request inside the loop: its Sequence, its place in the queue and its KV.
struct SeqEntry {
  std::shared_ptr<RequestState> req;
  std::unique_ptr<Sequence> seq;
  int priority = 0;
  std::uint64_t order = 0;  // arrival order
  std::optional<Clock::time_point> deadline;
  std::stop_token stop;
  KvSlot kv;
  std::size_t n_new = 0;    // rows scheduled this step
  bool started = false;     // admitted at least once (its prefill began)
  bool in_running = false;
  bool counted = true;      // still counted against max_queued (never admitted)
};

struct StepPlan {
  std::vector<SeqEntry*> rows;       // in batch order, each with n_new > 0
  std::vector<SeqEntry*> admitted;   // admitted this step (first time or after preemption)
  int preempted = 0;
};

class Scheduler {
 public:
  Scheduler(KvManager& kv, int max_batched_tokens, int max_sequences);

  void add(std::unique_ptr<SeqEntry> entry);
  StepPlan schedule();
  /// Takes an entry out (waiting or running) and frees its KV.
  std::unique_ptr<SeqEntry> remove(SeqEntry* entry);

  const std::vector<std::unique_ptr<SeqEntry>>& waiting() const noexcept { return waiting_; }
  const std::vector<std::unique_ptr<SeqEntry>>& running() const noexcept { return running_; }
  bool empty() const noexcept { return waiting_.empty() && running_.empty(); }
  std::uint64_t preemptions() const noexcept { return preemptions_; }

 private:
  bool fit(SeqEntry& e, std::size_t upto, StepPlan& plan, int& budget);
  void preempt(std::size_t running_index, StepPlan& plan, int& budget);
  std::optional<std::size_t> victim(int below_priority) const;
  bool admit(StepPlan& plan, int& budget);
  KvManager& kv_;
  int max_tokens_, max_seqs_;
  std::vector<std::unique_ptr<SeqEntry>> waiting_;  // by priority, then arrival
  std::vector<std::unique_ptr<SeqEntry>> running_;  // in admission order
  std::uint64_t preemptions_ = 0;
};

}  // namespace cnai::engine
