#include "engine/batch_engine.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <unistd.h>

#include "cnai/core/error.hpp"
#include "cnai/core/thread_pool.hpp"
#include "model/llama_weights.hpp"

namespace cnai::engine {
namespace {

constexpr int kBlockSize = model::KvCache::kDefaultBlockSize;

std::size_t token_bytes(const ModelConfig& c, KvCacheType type) {
  return model::KvCache::block_bytes(c.n_layer, 1, c.n_head_kv, c.head_dim, type);
}

std::size_t physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(size) : 0;
}

int pool_blocks(const ModelConfig& c, KvCacheType type, const BatchEngineOptions& o) {
  const std::size_t bytes = o.kv_pool_bytes > 0 ? o.kv_pool_bytes
                                                : default_kv_pool_bytes(c, type, o.n_ctx, o.max_sequences);
  const std::size_t block = token_bytes(c, type) * kBlockSize;
  const std::size_t n = bytes / block;
  if (n < 1)
    throw Error(ErrorCode::invalid_argument, "kv_pool_bytes " + std::to_string(bytes) + " holds no KV block of " +
                                                 std::to_string(block) + " bytes");
  return static_cast<int>(std::min<std::size_t>(n, 1u << 24));
}

void check_options(const BatchEngineOptions& o) {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw Error(ErrorCode::invalid_argument, "LocalEngineOptions: " + what);
  };
  need(o.n_ctx > 0, "n_ctx must be > 0");
  need(o.max_sequences >= 1, "max_sequences must be >= 1, got " + std::to_string(o.max_sequences));
  need(o.max_batched_tokens >= o.max_sequences, "max_batched_tokens (" + std::to_string(o.max_batched_tokens) +
                                                    ") must be at least max_sequences (" +
                                                    std::to_string(o.max_sequences) + ")");
  need(o.max_queued >= 0, "max_queued must be >= 0");
  need(o.callback_threads >= 1, "callback_threads must be >= 1");
}

double ms_since(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

std::int64_t ns_since(Clock::time_point a, Clock::time_point b) {
  return std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

}  // namespace

std::size_t default_kv_pool_bytes(const ModelConfig& c, KvCacheType type, int n_ctx, int max_sequences) {
  const std::size_t per_token = token_bytes(c, type);
  std::size_t tokens = std::max<std::size_t>(static_cast<std::size_t>(max_sequences) * 1024,
                                             static_cast<std::size_t>(n_ctx));
  const std::size_t mem = physical_memory();
  if (mem > 0) tokens = std::min(tokens, std::max<std::size_t>(mem / 8 / per_token, kBlockSize));
  return tokens * per_token;
}

BatchEngine::BatchEngine(std::shared_ptr<const Model> model, const Tokenizer& tokenizer,
                         const BatchEngineOptions& options)
    : model_(std::move(model)),
      tokenizer_(tokenizer),
      options_((check_options(options), options)),
      n_ctx_(0),
      cache_(model_->config().n_layer, pool_blocks(model_->config(), model_->options().kv_type, options_), kBlockSize,
             model_->config().n_head_kv, model_->config().head_dim, model_->options().kv_type, /*zero=*/false),
      act_(model_->weights(), options_.max_batched_tokens),
      logits_(static_cast<std::size_t>(options_.max_sequences) * static_cast<std::size_t>(model_->config().n_vocab)),
      // Sliding-window layers keep a sequence's keys in a ring over its first
      // blocks, which a shared prefix block would have rewritten under others.
      kv_(cache_.n_blocks(), kBlockSize, options_.prefix_cache && model_->config().sliding_window == 0),
      scheduler_(kv_, options_.max_batched_tokens, options_.max_sequences),
      runner_(options_.callback_threads) {
  n_ctx_ = std::min(options_.n_ctx, cache_.n_blocks() * kBlockSize);
  act_.batch_invariant = options_.batch_invariant;
  stats_.kv_blocks_total = cache_.n_blocks();
  stats_.kv_blocks_free = cache_.n_blocks();
  stats_.kv_block_tokens = kBlockSize;
  stats_.kv_pool_bytes = cache_.bytes();
  stats_.batch_size_histogram.assign(static_cast<std::size_t>(options_.max_sequences) + 1, 0);
  thread_ = std::thread([this] { run(); });
}

BatchEngine::~BatchEngine() {
  {
    std::lock_guard lock(submit_m_);
    stopping_ = true;
  }
  submit_cv_.notify_all();
  thread_.join();
}

std::shared_ptr<RequestState> BatchEngine::submit(const GenerateRequest& request, const SamplerConfig& sampling,
                                                  TextCallback on_text,
                                                  std::function<void(const GenerateResult*, std::exception_ptr)> on_done,
                                                  bool keep_deltas) {
  check_generate_request(request, n_ctx_);
  const auto arrival = Clock::now();
  auto state = std::make_shared<RequestState>();
  state->arrival = arrival;
  state->on_text = std::move(on_text);
  state->on_done = std::move(on_done);
  state->keep_deltas = keep_deltas || state->on_text;
  state->runner = (state->on_text || state->on_done) ? &runner_ : nullptr;
  state->prompt_tokens.store(static_cast<std::int64_t>(request.prompt.size()), std::memory_order_relaxed);
  auto e = std::make_unique<SeqEntry>();
  e->req = state;
  e->seq = std::make_unique<Sequence>(request, sampling, tokenizer_, n_ctx_, arrival);
  e->priority = request.priority;
  e->deadline = request.deadline;
  e->stop = request.cancel;
  {
    std::lock_guard lock(submit_m_);
    if (stopping_) throw Error(ErrorCode::unavailable, "the engine is shutting down");
    if (queued_ >= options_.max_queued) {
      ++rejected_;
      throw Error(ErrorCode::overloaded, "the engine's queue is full (" + std::to_string(options_.max_queued) +
                                             " requests waiting); retry later");
    }
    ++queued_;
    e->order = next_order_++;
    incoming_.push_back(std::move(e));
  }
  submit_cv_.notify_all();
  return state;
}

void BatchEngine::run() {
  for (;;) {
    {
      std::unique_lock lock(submit_m_);
      if (scheduler_.empty())
        submit_cv_.wait(lock, [&] { return stopping_ || !incoming_.empty(); });
      if (stopping_) break;
      while (!incoming_.empty()) {
        scheduler_.add(std::move(incoming_.front()));
        incoming_.pop_front();
      }
    }
    try {
      step();
    } catch (...) {
      fail_all(std::current_exception());  // the cache's state is unknown: start over
      publish({});
      flush_done();
    }
  }
  std::deque<std::unique_ptr<SeqEntry>> left;
  {
    std::lock_guard lock(submit_m_);
    left.swap(incoming_);
  }
  for (auto& e : left) scheduler_.add(std::move(e));
  fail_all(std::make_exception_ptr(Error(ErrorCode::unavailable, "the engine shut down before the request finished")));
  publish({});
  flush_done();
}

void BatchEngine::fail_all(const std::exception_ptr& error) {
  std::vector<SeqEntry*> all;
  for (auto& e : scheduler_.running()) all.push_back(e.get());
  for (auto& e : scheduler_.waiting()) all.push_back(e.get());
  for (SeqEntry* e : all) finish(e, error);
}

// Cancelled and expired requests end here, queued, mid-prefill or decoding.
void BatchEngine::sweep() {
  const auto now = Clock::now();
  std::vector<std::pair<SeqEntry*, std::exception_ptr>> done;
  auto check = [&](SeqEntry* e) {
    const std::size_t n = e->seq->generated().size();
    if (e->req->cancel_requested.load(std::memory_order_relaxed) || e->stop.stop_requested())
      done.emplace_back(e, std::make_exception_ptr(Error(
                               ErrorCode::cancelled, "generation cancelled after " + std::to_string(n) + " tokens")));
    else if (e->deadline && now >= *e->deadline)
      done.emplace_back(e, std::make_exception_ptr(Error(ErrorCode::timeout, "generation passed its deadline after " +
                                                                                  std::to_string(n) + " tokens")));
  };
  for (auto& e : scheduler_.running()) check(e.get());
  for (auto& e : scheduler_.waiting()) check(e.get());
  for (auto& [e, error] : done) finish(e, error);
}

void BatchEngine::finish(SeqEntry* entry, std::exception_ptr error) {
  std::unique_ptr<SeqEntry> e = scheduler_.remove(entry);
  if (!e) return;
  if (e->counted) {
    std::lock_guard lock(submit_m_);
    --queued_;
  }
  Done d{e->req, std::nullopt, error};
  if (!error) d.result = e->seq->result(Clock::now());
  e->req->phase.store(static_cast<int>(RequestPhase::finished), std::memory_order_relaxed);
  done_.push_back(std::move(d));
}

// Outcomes are handed over after publish(), so a caller that sees its request
// done also sees the engine's stats without it.
void BatchEngine::flush_done() {
  for (Done& d : done_) {
    RequestState& s = *d.state;
    std::lock_guard lock(s.m);
    s.result = std::move(d.result);
    s.error = d.error;
    s.finished = true;
    s.notify_locked(d.state);
  }
  done_.clear();
}

// Text that became final goes to the request (the loop never calls out).
void BatchEngine::post(SeqEntry& e) {
  auto delta = e.seq->take_delta();
  RequestState& s = *e.req;
  s.generated.store(static_cast<std::int64_t>(e.seq->generated().size()), std::memory_order_relaxed);
  if (!delta || !s.keep_deltas) return;
  std::lock_guard lock(s.m);
  s.deltas.push_back(std::move(*delta));
  s.notify_locked(e.req);
}

void BatchEngine::step() {
  sweep();
  StepPlan plan = scheduler_.schedule();
  const auto t0 = Clock::now();
  for (SeqEntry* e : plan.admitted) {
    if (e->counted) {
      e->counted = false;
      std::lock_guard lock(submit_m_);
      --queued_;
    }
    if (!e->started) {
      e->started = true;
      e->seq->start_prefill(t0, e->kv.computed);
      e->req->cached_tokens.store(static_cast<std::int64_t>(e->kv.computed), std::memory_order_relaxed);
      e->req->prefill_start_ns.store(ns_since(e->req->arrival, t0), std::memory_order_relaxed);
    }
    if (e->seq->generated().empty()) e->req->phase.store(static_cast<int>(RequestPhase::prefill), std::memory_order_relaxed);
  }
  if (plan.rows.empty()) {
    publish({});
    flush_done();
    // Nothing can run now (every waiting request needs KV that is held):
    // wait for a submission, a cancel or a deadline to change that.
    std::unique_lock lock(submit_m_);
    submit_cv_.wait_for(lock, std::chrono::milliseconds(5));
    return;
  }
  batch_.clear();
  std::vector<SeqEntry*> with_logits;
  for (SeqEntry* e : plan.rows) {
    const std::int32_t sid = batch_.add_sequence(e->kv.blocks);
    const std::size_t n_tokens = e->seq->n_tokens();
    for (std::size_t i = 0; i < e->n_new; ++i) {
      const std::size_t pos = e->kv.computed + i;
      const bool last = pos + 1 == n_tokens;
      batch_.add(e->seq->token_at(pos), sid, static_cast<std::int32_t>(pos), last);
      if (last) with_logits.push_back(e);
    }
  }
  try {
    // Contexts on the same model, and engines of models sharing its pool, take turns.
    std::lock_guard lock(model_->pool().turn());
    model::forward(model_->weights(), cache_, act_, model_->pool(), batch_, logits_.data());
  } catch (...) {
    // The batch's sequences end with the error; their blocks (what this pass
    // wrote included) go back to the pool, nothing of them joined the cache.
    const std::exception_ptr error = std::current_exception();
    for (SeqEntry* e : plan.rows) finish(e, error);
    publish({});
    flush_done();
    return;
  }
  const auto t1 = Clock::now();
  StepCounts counts{plan.rows.size(), 0, with_logits.size(), ms_since(t0, t1)};
  for (SeqEntry* e : plan.rows) {
    // A decode row evaluates the last sampled token; anything else is prompt
    // (or a preempted sequence's recomputation).
    if (!(e->n_new == 1 && !e->seq->generated().empty() && e->kv.computed + 1 == e->seq->n_tokens()))
      counts.prefill_tokens += e->n_new;
    kv_.advance(*e->seq, e->kv, e->kv.computed + e->n_new);
  }
  const auto V = static_cast<std::size_t>(model_->config().n_vocab);
  std::vector<SeqEntry*> ended;
  for (std::size_t r = 0; r < with_logits.size(); ++r) {
    SeqEntry* e = with_logits[r];
    try {
      const bool first = e->seq->generated().empty();
      e->seq->sample(std::span<const float>(logits_.data() + r * V, V));
      if (first) {
        e->seq->end_prefill(t1);
        e->req->first_token_ns.store(ns_since(e->req->arrival, Clock::now()), std::memory_order_relaxed);
        e->req->phase.store(static_cast<int>(RequestPhase::decode), std::memory_order_relaxed);
      }
      post(*e);
      if (e->seq->finished()) ended.push_back(e);
    } catch (...) {
      finish(e, std::current_exception());
    }
  }
  for (SeqEntry* e : ended) finish(e, nullptr);
  publish(counts);  // plan's entries may be gone now
  flush_done();
}

double BatchEngine::estimate_wait_ms() const {
  // One step to be admitted and sampled, plus the steps the prompts ahead
  // need, plus, with every slot taken, the steps until enough sequences end.
  const double step = std::max(stats_.step_ms, 1.0);
  std::size_t ahead_tokens = 0;
  for (const auto& e : scheduler_.waiting()) ahead_tokens += e->seq->n_tokens() - e->kv.computed;
  double steps = 1.0 + std::ceil(static_cast<double>(ahead_tokens) / options_.max_batched_tokens);
  const int free_slots = options_.max_sequences - static_cast<int>(scheduler_.running().size());
  const int need = static_cast<int>(scheduler_.waiting().size()) + 1 - free_slots;
  if (need > 0 && !remaining_.empty()) {
    std::vector<std::size_t> r = remaining_;
    std::sort(r.begin(), r.end());
    steps += static_cast<double>(r[static_cast<std::size_t>(std::min<int>(need, static_cast<int>(r.size())) - 1)]);
  }
  return steps * step;
}

void BatchEngine::publish(const StepCounts& step) {
  remaining_.clear();
  for (const auto& e : scheduler_.running()) {
    const std::size_t limit = e->seq->max_tokens() ? static_cast<std::size_t>(*e->seq->max_tokens())
                                                   : static_cast<std::size_t>(n_ctx_) - std::min<std::size_t>(e->seq->prompt().size(), n_ctx_);
    remaining_.push_back(limit - std::min(limit, e->seq->generated().size()));
  }
  std::lock_guard lock(stats_m_);
  EngineStats& s = stats_;
  if (step.rows > 0) {
    ++s.steps;
    ++s.batch_size_histogram[std::min(step.rows, s.batch_size_histogram.size() - 1)];
    s.step_ms = s.step_ms == 0 ? step.ms : 0.8 * s.step_ms + 0.2 * step.ms;
    s.prompt_tokens_evaluated += step.prefill_tokens;
    s.tokens_generated += step.sampled;
  }
  s.queue_depth = static_cast<int>(scheduler_.waiting().size());
  s.running = static_cast<int>(scheduler_.running().size());
  s.kv_blocks_free = kv_.pool().n_free();
  s.kv_blocks_used = s.kv_blocks_total - s.kv_blocks_free;
  s.kv_blocks_cached = kv_.pool().n_cached_free();
  s.prefix_query_tokens = kv_.query_tokens;
  s.prefix_hit_tokens = kv_.hit_tokens;
  s.prefix_hit_rate = kv_.query_tokens ? static_cast<double>(kv_.hit_tokens) / static_cast<double>(kv_.query_tokens) : 0;
  s.preemptions = scheduler_.preemptions();
  s.estimated_wait_ms = estimate_wait_ms();
}

EngineStats BatchEngine::stats() const {
  EngineStats s;
  {
    std::lock_guard lock(stats_m_);
    s = stats_;
  }
  std::lock_guard lock(submit_m_);
  s.rejected = rejected_;
  s.queue_depth += static_cast<int>(incoming_.size());
  return s;
}

}  // namespace cnai::engine
