// LocalEngine — text in, text out on a local GGUF model: renders the chat
// template, tokenizes, runs the model, samples, stops, and streams ChatChunks.
// It is a Backend: the shared vocabulary in (ChatRequest), ChatResponse /
// ChatChunk out, cancellable through a std::stop_token. Requests from any
// number of threads run concurrently: one scheduling loop owns the model and
// evaluates every running sequence in each forward pass (continuous batching
// over a paged KV pool with a prefix cache); submit() is the asynchronous
// form. Loaded from an encoder (embedding) model, it serves embeddings through
// an EmbeddingEngine instead.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "cnai/api/backend.hpp"
#include "cnai/api/types.hpp"
#include "cnai/engine/embedding_engine.hpp"
#include "cnai/model/model.hpp"

namespace cnai {

class Tokenizer;
class ChatTemplate;

/// The engine's defaults, in one place: the `cnai` program uses them as they
/// are (its flags override them), and so does a host that sets nothing.
/// Every field has a default, so designated initialisers work:
/// `LocalEngineOptions{.n_ctx = 2048, .default_max_tokens = 256}`.
struct LocalEngineOptions {
  /// Threads, default n_ctx, KV cache type. The engine's KV cache is F16 by
  /// default (as llama.cpp's): half the memory of F32, and decode is a little
  /// faster; the token-level Model/Context API keeps F32 as its default.
  ModelOptions model{.kv_type = KvCacheType::f16};
  int n_ctx = 0;                    // most tokens (prompt + generated) of one sequence; 0: the model's default
  /// The scheduler's token budget per step: the most tokens one forward pass
  /// evaluates, decode rows of running sequences first, then chunks of
  /// waiting prompts (chunked prefill), so a long prompt never stalls the
  /// streams already running.
  int max_batched_tokens = 256;
  /// The most sequences running at once (rows of a decode step).
  int max_sequences = 16;
  /// The most requests waiting to be admitted; one more is Error(overloaded)
  /// at once (never an unbounded queue).
  int max_queued = 256;
  /// Bytes of the paged KV pool (every sequence's keys and values, in blocks
  /// of 16 positions, plus the prefix cache). 0: room for max_sequences
  /// sequences of 1024 tokens, at least one full n_ctx, at most 1/8 of the
  /// machine's memory.
  std::size_t kv_pool_bytes = 0;
  /// A sequence's logits do not depend on what else is in its batch, so a
  /// greedy answer is token for token the same alone or beside others, at any
  /// step alignment and prefill chunking (attention computes every row as it
  /// would alone; the matmul kernels already do).
  bool batch_invariant = true;
  /// Threads that run the callbacks of submit()/submit_chat() (each request's
  /// in order, never under an engine lock). Blocking calls run theirs on the
  /// calling thread.
  int callback_threads = 2;
  /// Jinja source replacing the model's `tokenizer.chat_template`.
  std::string chat_template{};
  /// Use ChatML when the model has no template or its template cannot be
  /// parsed. Off by default: a missing or broken template is an error.
  bool chatml_fallback = false;
  /// Sampling fields a request leaves unset take these values: llama.cpp's
  /// defaults (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05). Fields unset
  /// here too take the OpenAI defaults (temperature 1, top_p 1).
  SamplingParams default_sampling = [] {  // (not designated: GCC 12 then warns on the map inside)
    SamplingParams s;
    s.temperature = 0.8f;
    s.top_k = 40;
    s.top_p = 0.95f;
    s.min_p = 0.05f;
    return s;
  }();
  /// max_tokens of a chat request that sets none (0: until end of turn or a
  /// full context). GenerateRequest, the token-level call, has no default.
  int default_max_tokens = 1024;
  /// Prefix cache across requests: a full KV block is known by a hash chained
  /// from its parent block's, so a system prompt or history many requests
  /// share is evaluated once (whole blocks of 16 tokens; unreferenced blocks
  /// evicted least recently used first). Models with sliding-window layers
  /// (gemma3) keep those layers in a ring of blocks and never share them.
  bool reuse_prefix = true;
  /// Backend::name(), ChatResponse::backend.
  std::string backend_name = "local";
  /// The time the chat template's strftime_now() sees; unset: now.
  std::optional<std::chrono::system_clock::time_point> template_now{};
  /// An encoder GGUF whose embeddings this engine serves besides chat (empty: none).
  std::string embedding_model{};
  /// For an encoder model (or embedding_model): pooling, normalisation, batching.
  /// Threads 0 here take model.threads; the backend name is backend_name.
  EmbeddingEngineOptions embedding{};
};

/// A generation at the token level: what the chat calls run underneath.
struct GenerateRequest {
  std::vector<std::int32_t> prompt;
  int priority = 0;                  // higher first; equal priorities in arrival order
  SamplingParams sampling;
  std::optional<int> max_tokens;     // unset: until the context is full
  std::vector<std::string> stop;     // matched on text across token boundaries
  bool ignore_eog = false;           // keep going past end-of-generation tokens
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::stop_token cancel;            // a stop request ends generation with Error(cancelled)
};

struct GenerateResult {
  std::string text;                  // stop text and end-of-generation tokens excluded
  std::vector<std::int32_t> tokens;  // every sampled token, incl. an end-of-generation one
  FinishReason finish_reason = FinishReason::none;
  Usage usage;
  Timings timings;
};

/// Called with each piece of text as it becomes final (never part of a stop
/// sequence, never half a UTF-8 character) and the tokens behind it. Return
/// false to cancel.
using TextCallback = std::function<bool(std::string_view text, std::span<const std::int32_t> tokens)>;

namespace engine {
struct RequestState;
}

/// Where a submitted request is.
enum class RequestPhase { queued, prefill, decode, finished };

/// One request's progress, as its handle sees it now.
struct RequestStats {
  RequestPhase phase = RequestPhase::queued;
  std::int64_t prompt_tokens = 0;
  std::int64_t cached_prompt_tokens = 0;  // served by the prefix cache
  std::int64_t generated_tokens = 0;
  int preemptions = 0;                    // times its KV was dropped and recomputed
  double queue_ms = 0;                    // so far, or until its prefill began
  double time_to_first_token_ms = 0;      // 0 until the first token
};

/// A submitted generation (LocalEngine::submit): copyable, thread-safe, valid
/// after the engine is gone (a request still running then ends with
/// Error(unavailable)).
class GenerationHandle {
 public:
  GenerationHandle() = default;
  explicit GenerationHandle(std::shared_ptr<engine::RequestState> state) : state_(std::move(state)) {}
  explicit operator bool() const noexcept { return state_ != nullptr; }

  /// Ends the request at the engine's next step (queued, mid-prefill or
  /// decoding) and frees its KV blocks; it finishes with Error(cancelled).
  void cancel() const;
  bool done() const;
  /// Waits until it finished; false on timeout.
  bool wait_for(std::chrono::milliseconds timeout) const;
  /// Waits, then returns the result or throws the request's Error.
  GenerateResult get() const;
  RequestStats stats() const;
  /// The request's internals (the engine and ChatHandle use them).
  const std::shared_ptr<engine::RequestState>& state() const noexcept { return state_; }

 private:
  std::shared_ptr<engine::RequestState> state_;
};

/// A submitted chat completion (LocalEngine::submit_chat).
class ChatHandle {
 public:
  ChatHandle() = default;
  ChatHandle(GenerationHandle generation, ChatResponse head)
      : generation_(std::move(generation)), head_(std::move(head)) {}
  explicit operator bool() const noexcept { return static_cast<bool>(generation_); }
  void cancel() const { generation_.cancel(); }
  bool done() const { return generation_.done(); }
  bool wait_for(std::chrono::milliseconds timeout) const { return generation_.wait_for(timeout); }
  /// Waits, then the assembled response (or the request's Error).
  ChatResponse get() const;
  RequestStats stats() const { return generation_.stats(); }
  const GenerationHandle& generation() const noexcept { return generation_; }

 private:
  GenerationHandle generation_;
  ChatResponse head_;  // id, model, created, backend
};

/// The scheduler's state in one call (LocalEngine::stats); health() reads it.
struct EngineStats {
  int queue_depth = 0;     // requests waiting for admission (preempted ones included)
  int running = 0;         // sequences holding KV blocks
  std::int64_t kv_blocks_total = 0;
  std::int64_t kv_blocks_used = 0;    // referenced by a sequence
  std::int64_t kv_blocks_free = 0;    // the rest, cached prefixes included
  std::int64_t kv_blocks_cached = 0;  // free blocks still holding a cached prefix
  int kv_block_tokens = 0;            // positions per block
  std::size_t kv_pool_bytes = 0;      // the pool's size (paged in as blocks are first used)
  std::uint64_t steps = 0;            // forward passes
  /// batch_size_histogram[n]: steps whose batch held n sequences (n <= max_sequences).
  std::vector<std::uint64_t> batch_size_histogram;
  std::uint64_t prefix_query_tokens = 0;  // prompt tokens looked up in the prefix cache
  std::uint64_t prefix_hit_tokens = 0;    // of those, served from it
  double prefix_hit_rate = 0;             // hit / query tokens
  std::uint64_t preemptions = 0;
  std::uint64_t rejected = 0;             // Error(overloaded) at submit
  std::uint64_t prompt_tokens_evaluated = 0;
  std::uint64_t tokens_generated = 0;
  double step_ms = 0;                     // recent forward passes, smoothed
  double estimated_wait_ms = 0;           // until a request arriving now gets its first token
};

class LocalEngine final : public Backend {
 public:
  /// Loads the model, tokenizer and chat template. Errors: those of
  /// Model::load and Tokenizer, model_format when the chat template is missing
  /// or unparsable (unless chatml_fallback). An encoder model (general.architecture
  /// bert) gives an engine that serves embeddings only (is_embedding_model()):
  /// its chat calls, generate(), model() and chat_template() are Error(unsupported).
  static std::shared_ptr<LocalEngine> load(const std::string& path, const LocalEngineOptions& options = {});
  ~LocalEngine() override;
  LocalEngine(const LocalEngine&) = delete;
  LocalEngine& operator=(const LocalEngine&) = delete;

  // Backend: chat() and chat_stream() (inherited) run one completion. The
  // stream's first chunk carries the role, then text deltas with their token
  // ids, then one with the finish reason and usage. Errors: invalid_argument
  // (a bad field, an unsupported role sequence for the template),
  // context_overflow (the prompt does not fit; nothing is generated), timeout
  // (deadline passed), cancelled (stop token, or a callback returning false),
  // unsupported (response_format other than text).
  const std::string& name() const noexcept override;
  BackendCapabilities capabilities() const override;
  BackendHealth health() const override;

  /// The prompt text the chat template renders for `request`.
  std::string render_prompt(const ChatRequest& request) const;
  /// Tokens of a rendered prompt (BOS added when the vocabulary asks for it
  /// and the template did not already write it).
  std::vector<std::int32_t> tokenize_prompt(const std::string& prompt) const;

  /// Token-level generation, blocking; concurrent calls share forward passes.
  /// on_text runs on the calling thread. Errors as chat's, and overloaded (the
  /// waiting queue is full).
  GenerateResult generate(const GenerateRequest& request, const TextCallback& on_text = {});

  /// Submits a generation and returns at once. on_text (optional) runs on one
  /// of the engine's callback threads, in order, never under an engine lock
  /// (it may call back into the engine; returning false cancels). Errors,
  /// thrown here: invalid_argument, context_overflow (longer than n_ctx or the
  /// KV pool), overloaded (max_queued requests already waiting). Errors of the
  /// run itself (cancelled, timeout, ...) come from the handle's get().
  GenerationHandle submit(const GenerateRequest& request, TextCallback on_text = {});
  /// The chat form: chunks as chat_stream's (role first, then deltas, then
  /// finish reason and usage; the last one also when the request fails, with
  /// FinishReason::error) on a callback thread. `stop` cancels the request.
  ChatHandle submit_chat(const ChatRequest& request, ChunkCallback on_chunk = {}, std::stop_token stop = {});

  /// Queue depth, running sequences, batch sizes, KV blocks, prefix cache,
  /// preemptions and the wait a new request would see.
  EngineStats stats() const;

  const Model& model() const;
  const Tokenizer& tokenizer() const noexcept;
  const ChatTemplate& chat_template() const;
  int n_ctx() const noexcept;
  /// general.name of the model, else its file name (ChatResponse::model when the request names none).
  const std::string& model_name() const noexcept;

  /// True when loaded from an encoder model: embeddings only.
  bool is_embedding_model() const noexcept;
  /// What serves embeddings() (the encoder model, or LocalEngineOptions::embedding_model); null: none.
  const EmbeddingEngine* embedding_engine() const noexcept;

 protected:
  ChatResponse do_chat(const ChatRequest& request, std::stop_token stop) override;
  ChatResponse do_chat_stream(const ChatRequest& request, const ChunkCallback& on_chunk,
                              std::stop_token stop) override;
  /// Through the EmbeddingEngine's batcher; Error(unsupported) when there is none.
  EmbeddingResponse do_embeddings(const EmbeddingRequest& request, std::stop_token stop) override;

 private:
  struct Impl;
  LocalEngine(std::unique_ptr<Impl> impl, std::shared_ptr<EmbeddingEngine> embedder);
  void require_decoder(const char* what) const;
  GenerateRequest to_generate(const ChatRequest& request, std::stop_token stop) const;
  ChatResponse response_head(const ChatRequest& request);
  std::unique_ptr<Impl> impl_;  // null for an embedding model
  std::shared_ptr<EmbeddingEngine> embedder_;
};

}  // namespace cnai
