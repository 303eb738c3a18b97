// EncoderModel — a BERT-family encoder loaded from GGUF (llama.cpp's `bert`
// layout): token ids of a batch of sequences in, one pooled and optionally
// L2-normalised embedding per sequence out. The token-level API under embeddings.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "cnai/core/error.hpp"

namespace cnai {

class ThreadPool;

/// How token states become one vector (GGUF `<arch>.pooling_type`: 1 mean, 2 cls, 3 last).
enum class Pooling { mean, cls, last };

std::string_view to_string(Pooling p) noexcept;

/// Hyper-parameters of an encoder, read from `<arch>.*` GGUF keys.
struct EncoderConfig {
  std::string arch;  // "bert"
  std::string name;  // general.name, if present
  int n_layer = 0;
  int n_embd = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;
  int n_ff = 0;
  int n_vocab = 0;
  int n_ctx_train = 0;  // longest sequence (position embeddings), special tokens included
  float norm_eps = 1e-12f;
  Pooling pooling = Pooling::mean;  // mean when the file does not say
  /// L2-normalise the pooled vector: `cnai.embedding.normalize` when the file
  /// has it (the set-up's converter writes the sentence-transformers pipeline's
  /// choice), else true (as llama.cpp's --embd-normalize default and OpenAI's API).
  bool normalize = true;
};

struct EncoderOptions {
  int threads = 0;                 // compute threads; <= 0 means physical cores
  std::optional<Pooling> pooling;  // overrides the file's
  std::optional<bool> normalize;   // overrides the file's
  /// With 8-bit and 4-bit weights the integer matmuls quantize activations to
  /// 8 bits per 32-value block; that rounding, not the weights', dominates the
  /// error of short inputs (cosine 0.9976 against float64 on a 1-word input).
  /// True adds a second pass over the rounding residual (about 256x smaller
  /// error, the matmuls cost twice as much); false: one pass, as llama.cpp.
  bool precise_activations = true;
  /// false keeps the file's layout of the matrices (A/B measurements; the
  /// CLI's CNAI_PACK=0). Loaded through LocalEngine, ModelOptions::repack
  /// false turns this off too.
  bool repack = true;
};

namespace model {
struct EncoderWeights;
struct EncoderScratch;
}  // namespace model

class EncoderModel {
 public:
  /// Errors: not_found, model_format (missing key or tensor, wrong shape, named),
  /// unsupported (not an encoder architecture, causal attention, a pooling type
  /// other than mean/cls/last, a weight type with no kernel).
  static std::shared_ptr<EncoderModel> load(const std::string& path, const EncoderOptions& options = {});
  /// True when `arch` (general.architecture) names an encoder cnai runs.
  static bool is_encoder_architecture(std::string_view arch);
  ~EncoderModel();
  EncoderModel(const EncoderModel&) = delete;
  EncoderModel& operator=(const EncoderModel&) = delete;

  const EncoderConfig& config() const noexcept;
  const std::string& path() const noexcept;
  int threads() const noexcept;

  /// Writes one embedding per sequence to out (row-major [sequences.size(), n_embd]).
  /// Each sequence is the model's input as is (with [CLS]/[SEP]), 1 .. n_ctx_train
  /// tokens. All sequences run in one forward pass, packed without padding.
  /// Thread-safe: concurrent calls take turns. Errors, before any work:
  /// invalid_argument (no sequence, an empty one, an id outside the vocabulary,
  /// out of the wrong size), context_overflow (a sequence longer than n_ctx_train).
  void embed(std::span<const std::span<const std::int32_t>> sequences, std::span<float> out) const;

 private:
  EncoderModel();
  std::string path_;
  std::unique_ptr<model::EncoderWeights> weights_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<model::EncoderScratch> scratch_;
};

}  // namespace cnai
