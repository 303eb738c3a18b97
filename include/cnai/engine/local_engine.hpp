// LocalEngine — text in, text out on a local GGUF model: renders the chat
// template, tokenizes, runs the model, samples, stops, and streams ChatChunks.
// It is a Backend: the shared vocabulary in (ChatRequest), ChatResponse /
// ChatChunk out, cancellable through a std::stop_token. Loaded from an encoder
// (embedding) model, it serves embeddings through an EmbeddingEngine instead.
#pragma once

#include <chrono>
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
  int n_ctx = 0;                    // context of the engine's session; 0: the model's default
  int n_batch = 512;                // prompt tokens evaluated per forward pass
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
  /// Keep the previous request's KV cache and re-evaluate only the part of the
  /// new prompt that differs (multi-turn chats resend their history).
  bool reuse_prefix = true;
  /// Backend::name(), ChatResponse::backend.
  std::string backend_name = "local";
  /// The time the chat template's strftime_now() sees; unset: now.
  std::optional<std::chrono::system_clock::time_point> template_now{};
  /// An encoder GGUF whose embeddings this engine serves besides chat (empty: none).
  std::string embedding_model;
  /// For an encoder model (or embedding_model): pooling, normalisation, batching.
  /// Threads 0 here take model.threads; the backend name is backend_name.
  EmbeddingEngineOptions embedding;
};

/// A generation at the token level: what the chat calls run underneath.
struct GenerateRequest {
  std::vector<std::int32_t> prompt;
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

  /// Token-level generation (requests are served one at a time per engine).
  GenerateResult generate(const GenerateRequest& request, const TextCallback& on_text = {});

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
  std::unique_ptr<Impl> impl_;  // null for an embedding model
  std::shared_ptr<EmbeddingEngine> embedder_;
};

}  // namespace cnai
