// Context: one session's KV cache, activations and logits over a shared Model.
#include <algorithm>
#include <mutex>
#include <string>

#include "cnai/core/error.hpp"
#include "cnai/core/thread_pool.hpp"
#include "cnai/model/model.hpp"
#include "model/batch.hpp"
#include "model/kv_cache.hpp"
#include "model/transformer.hpp"

namespace cnai {
namespace model {

// One sequence whose blocks are the whole cache, in order: its positions are
// consecutive cache rows.
struct ContextState {
  ContextState(const ModelWeights& w, int ctx, int n_batch, KvCacheType type)
      : n_ctx(ctx),
        kv(w.config.n_layer, blocks_for(ctx), KvCache::kDefaultBlockSize, w.config.n_head_kv, w.config.head_dim,
           type),
        act(w, n_batch),
        last_logits(static_cast<std::size_t>(w.config.n_vocab), 0.0f) {
    for (int b = 0; b < kv.n_blocks(); ++b) blocks.push_back(b);
  }
  static int blocks_for(int n_ctx) { return (n_ctx + KvCache::kDefaultBlockSize - 1) / KvCache::kDefaultBlockSize; }
  int n_ctx;
  int n_past = 0;
  KvCache kv;
  Activations act;
  std::vector<std::int32_t> blocks;
  Batch batch;
  std::vector<float> last_logits;
  std::vector<float> all_logits;  // grows on the first all-logits eval of a given size
  std::size_t n_all_rows = 0;
};

}  // namespace model

namespace {

void check_tokens(std::span<const std::int32_t> tokens, int n_vocab, int n_past, int n_ctx) {
  if (tokens.empty()) throw Error(ErrorCode::invalid_argument, "eval: no tokens given");
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= n_vocab)
      throw Error(ErrorCode::invalid_argument, "eval: token id " + std::to_string(tokens[i]) + " at index " +
                                                   std::to_string(i) + " is outside the vocabulary [0, " +
                                                   std::to_string(n_vocab) + ")");
  }
  if (static_cast<std::int64_t>(n_past) + static_cast<std::int64_t>(tokens.size()) > n_ctx)
    throw Error(ErrorCode::context_overflow, "eval: " + std::to_string(n_past) + " cached + " +
                                                 std::to_string(tokens.size()) + " new tokens exceed the context of " +
                                                 std::to_string(n_ctx));
}

}  // namespace

Context::Context(std::shared_ptr<const Model> model, const ContextOptions& options) : model_(std::move(model)) {
  if (!model_) throw Error(ErrorCode::invalid_argument, "Context: model is null");
  const int n_ctx = options.n_ctx > 0 ? options.n_ctx : model_->options().n_ctx;
  if (options.n_batch <= 0)
    throw Error(ErrorCode::invalid_argument, "Context: n_batch must be > 0, got " + std::to_string(options.n_batch));
  const int n_batch = std::min(options.n_batch, n_ctx);
  state_ = std::make_unique<model::ContextState>(model_->weights(), n_ctx, n_batch, model_->options().kv_type);
}

Context::~Context() = default;

std::span<const float> Context::eval(std::span<const std::int32_t> tokens, bool all_logits) {
  auto& s = *state_;
  const auto& w = model_->weights();
  const int V = w.config.n_vocab;
  check_tokens(tokens, V, s.n_past, s.n_ctx);
  if (all_logits) {
    const std::size_t need = tokens.size() * static_cast<std::size_t>(V);
    if (s.all_logits.size() < need) s.all_logits.resize(need);
    s.n_all_rows = tokens.size();
  } else {
    s.n_all_rows = 0;
  }
  std::lock_guard<std::mutex> lock(model_->pool().turn());  // models sharing a pool take turns
  for (std::size_t done = 0; done < tokens.size();) {
    const std::size_t n = std::min(tokens.size() - done, static_cast<std::size_t>(s.act.n_batch));
    const bool last_chunk = done + n == tokens.size();
    float* out = all_logits ? s.all_logits.data() + done * static_cast<std::size_t>(V) : s.last_logits.data();
    // Without all_logits, earlier chunks only fill the cache (no output projection).
    if (!all_logits && !last_chunk) out = nullptr;
    s.batch.clear();
    const std::int32_t seq = s.batch.add_sequence(s.blocks);
    for (std::size_t i = 0; i < n; ++i)
      s.batch.add(tokens[done + i], seq, s.n_past + static_cast<std::int32_t>(i), all_logits || (out && i + 1 == n));
    model::forward(w, s.kv, s.act, model_->pool(), s.batch, out);
    s.n_past += static_cast<int>(n);
    done += n;
  }
  if (all_logits) {
    const auto last = s.all_logits.begin() + static_cast<std::ptrdiff_t>((tokens.size() - 1) * static_cast<std::size_t>(V));
    std::copy(last, last + V, s.last_logits.begin());
  }
  return logits();
}

std::span<const float> Context::logits() const noexcept { return state_->last_logits; }

std::span<const float> Context::all_logits() const noexcept {
  return {state_->all_logits.data(), state_->n_all_rows * static_cast<std::size_t>(model_->config().n_vocab)};
}

int Context::n_past() const noexcept { return state_->n_past; }
int Context::n_ctx() const noexcept { return state_->n_ctx; }
int Context::n_vocab() const noexcept { return model_->config().n_vocab; }
void Context::reset() noexcept { state_->n_past = 0; }

void Context::truncate(int n) {
  if (n < 0 || n > state_->n_past)
    throw Error(ErrorCode::invalid_argument, "truncate: " + std::to_string(n) + " is outside [0, n_past=" +
                                                 std::to_string(state_->n_past) + "]");
  // Sliding-window layers keep position p's keys in ring row p % cap, which
  // position p + cap reuses: the keys the next position n attends to,
  // (n - window, n), are gone once the evaluated positions reached them.
  const int window = model_->weights().config.sliding_window;
  if (window > 0 && model_->weights().config.swa_pattern > 0) {
    const int bs = state_->kv.block_size(), cap = (window + bs - 1) / bs * bs;
    const int first_needed = std::max(0, n - window + 1);
    if (first_needed + cap <= state_->n_past - 1)
      throw Error(ErrorCode::invalid_argument,
                  "truncate: to " + std::to_string(n) + " of " + std::to_string(state_->n_past) +
                      " tokens: the sliding-window layers keep " + std::to_string(cap) +
                      " positions and the later ones overwrote keys that position " + std::to_string(n) +
                      " attends to; reset() and evaluate the prefix again");
  }
  state_->n_past = n;
}

}  // namespace cnai
