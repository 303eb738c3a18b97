// EmbeddingEngine — embeddings on a local encoder model (BERT family, GGUF):
// tokenizes each input on the caller's thread, then a DynamicBatcher gathers the
// inputs of all concurrent callers into shared forward passes. A Backend that
// answers embeddings only; LocalEngine delegates to it for encoder models.
#pragma once

#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "cnai/api/backend.hpp"
#include "cnai/engine/dynamic_batcher.hpp"
#include "cnai/model/encoder.hpp"

namespace cnai {

class Tokenizer;

/// The batcher settings EmbeddingEngine starts from: up to 64 inputs and 8192
/// padded tokens per pass, no added delay (a pass forms from whatever queued
/// during the previous one), inputs grouped by length.
DynamicBatcherOptions default_embedding_batching();

struct EmbeddingEngineOptions {
  EncoderOptions encoder;  // threads; pooling / normalisation overrides
  DynamicBatcherOptions batching = default_embedding_batching();
  std::string backend_name = "local";  // Backend::name(), EmbeddingResponse::backend
};

class EmbeddingEngine final : public Backend {
 public:
  /// Loads the encoder and its tokenizer. Errors: those of EncoderModel::load and
  /// Tokenizer; model_format when the tokenizer and the model disagree on the vocabulary.
  static std::shared_ptr<EmbeddingEngine> load(const std::string& path, const EmbeddingEngineOptions& options = {});
  ~EmbeddingEngine() override;
  EmbeddingEngine(const EmbeddingEngine&) = delete;
  EmbeddingEngine& operator=(const EmbeddingEngine&) = delete;

  // Backend: embeddings() (inherited) returns one vector per input, in order,
  // with Usage counting every token the model saw ([CLS]/[SEP] included).
  // Errors: invalid_argument (no input, an empty string, invalid UTF-8 — each
  // naming input[i]), context_overflow (an input longer than the model's
  // context, named, unless the request asks to truncate), unsupported
  // (`dimensions` other than the model's), overloaded (the batcher's queue is
  // full), timeout (the request's deadline passed while queued), cancelled.
  // chat() and chat_stream() are Error(unsupported).
  const std::string& name() const noexcept override;
  BackendCapabilities capabilities() const override;
  BackendHealth health() const override;

  /// The ids the model sees for `text` ([CLS] text [SEP]); `index` names the input in errors.
  /// Errors: as embeddings() for one input.
  std::vector<std::int32_t> tokenize(std::string_view text, bool truncate, std::size_t index = 0) const;

  const EncoderModel& model() const noexcept;
  const Tokenizer& tokenizer() const noexcept;
  /// general.name of the model, else its file name.
  const std::string& model_name() const noexcept;
  /// Longest input in tokens, special tokens included.
  int n_ctx() const noexcept;
  DynamicBatcherStats batcher_stats() const;

 protected:
  ChatResponse do_chat(const ChatRequest& request, std::stop_token stop) override;
  ChatResponse do_chat_stream(const ChatRequest& request, const ChunkCallback& on_chunk,
                              std::stop_token stop) override;
  EmbeddingResponse do_embeddings(const EmbeddingRequest& request, std::stop_token stop) override;

 private:
  struct Impl;
  explicit EmbeddingEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cnai
