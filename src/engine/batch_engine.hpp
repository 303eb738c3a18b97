// BatchEngine — the scheduling loop: one thread owns the model, the paged KV
// cache and the activations; every step it takes new submissions, ends
// cancelled and expired requests (freeing their KV), asks the Scheduler for a
// batch, runs one forward pass over it, and lets each sequence that got
// logits sample, posting the text that became final to its RequestState.
// Nothing here calls user code: delivery is the RequestState's business.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cnai/engine/local_engine.hpp"
#include "cnai/model/model.hpp"
#include "engine/kv_manager.hpp"
#include "engine/request_state.hpp"
#include "engine/scheduler.hpp"
#include "model/batch.hpp"
#include "model/kv_cache.hpp"
#include "model/transformer.hpp"

namespace cnai::engine {

struct BatchEngineOptions {
  int n_ctx = 0;               // most positions of one sequence (> 0)
  int max_batched_tokens = 256;
  int max_sequences = 16;
  int max_queued = 256;
  std::size_t kv_pool_bytes = 0;  // 0: the default (see LocalEngineOptions)
  bool prefix_cache = true;
  bool batch_invariant = true;
  int callback_threads = 2;
};

/// Bytes of the default pool for this model.
std::size_t default_kv_pool_bytes(const ModelConfig& c, KvCacheType type, int n_ctx, int max_sequences);

class BatchEngine {
 public:
  BatchEngine(std::shared_ptr<const Model> model, const Tokenizer& tokenizer, const BatchEngineOptions& options);
  ~BatchEngine();  // fails what is still queued or running with Error(unavailable)
  BatchEngine(const BatchEngine&) = delete;
  BatchEngine& operator=(const BatchEngine&) = delete;

  /// The most positions one sequence can hold: n_ctx, or less when the KV pool is smaller.
  int n_ctx() const noexcept { return n_ctx_; }

  /// Checks and queues a request. push: deliver through state->on_text /
  /// on_done on the callback threads; else the caller pulls state->deltas.
  /// Errors: invalid_argument, context_overflow, overloaded, the Sampler's.
  std::shared_ptr<RequestState> submit(const GenerateRequest& request, const SamplerConfig& sampling,
                                       TextCallback on_text,
                                       std::function<void(const GenerateResult*, std::exception_ptr)> on_done,
                                       bool keep_deltas);

  EngineStats stats() const;

 private:
  void run();
  void step();
  void sweep();
  void finish(SeqEntry* e, std::exception_ptr error);
  void post(SeqEntry& e);
  void flush_done();
  struct Done {
    std::shared_ptr<RequestState> state;
    std::optional<GenerateResult> result;
    std::exception_ptr error;
  };
  std::vector<Done> done_;  // finished this step, handed over after publish()
  struct StepCounts {
    std::size_t rows = 0;  // sequences in the batch
    std::size_t prefill_tokens = 0, sampled = 0;
    double ms = 0;
  };
  void publish(const StepCounts& step);
  void fail_all(const std::exception_ptr& error);
  double estimate_wait_ms() const;

  std::shared_ptr<const Model> model_;
  const Tokenizer& tokenizer_;
  BatchEngineOptions options_;
  int n_ctx_;
  model::KvCache cache_;
  model::Activations act_;
  model::Batch batch_;
  std::vector<float> logits_;
  KvManager kv_;
  Scheduler scheduler_;
  CallbackRunner runner_;

  // Submissions, handed to the loop.
  mutable std::mutex submit_m_;
  std::condition_variable submit_cv_;
  std::deque<std::unique_ptr<SeqEntry>> incoming_;
  bool stopping_ = false;
  std::uint64_t next_order_ = 0;
  int queued_ = 0;  // submitted, never admitted (the bound of max_queued)
  std::uint64_t rejected_ = 0;

  // The loop's view, published after every step for stats().
  mutable std::mutex stats_m_;
  EngineStats stats_;
  std::vector<std::size_t> remaining_;  // tokens each running sequence may still generate (estimates)

  std::thread thread_;
};

}  // namespace cnai::engine
