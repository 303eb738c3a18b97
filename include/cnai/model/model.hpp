// Model and Context — the token-level API of a local Llama-family model.
// A Model holds the memory-mapped GGUF weights and the compute thread pool; a
// Context is one session over it with its own KV cache and activation buffers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cnai/core/cpu_features.hpp"

namespace cnai {

class ThreadPool;

/// Hyper-parameters of a decoder-only transformer, read from `<arch>.*` GGUF keys.
struct ModelConfig {
  std::string arch;         // "llama", "qwen2", "qwen3", "gemma3", "phi3"
  std::string name;         // general.name, if present
  int n_layer = 0;
  int n_embd = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;
  int n_ff = 0;
  int n_vocab = 0;
  int n_ctx_train = 0;
  int n_rot = 0;                  // rotated dims per head
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;   // linear scaling: 1 / rope.scaling.factor
  bool rope_neox = false;         // NeoX (split halves) rather than interleaved pairs
  bool has_rope_freqs = false;    // Llama 3 per-dimension frequency factors
  float rms_eps = 1e-5f;
  bool tied_output = false;       // token_embd.weight doubles as the output matrix
  bool qkv_bias = false;
  // Architecture features beyond Llama's (set from the architecture and its metadata):
  bool qk_norm = false;           // RMSNorm over each Q and K head before rope (qwen3, gemma3)
  bool post_norms = false;        // RMSNorm of each block's output before the residual (gemma3)
  bool gelu_ffn = false;          // GeGLU (tanh GELU) instead of SwiGLU (gemma3)
  bool fused_qkv = false;         // attn_qkv.weight = [Q | K | V] (phi3)
  bool fused_gate_up = false;     // ffn_up.weight = [gate | up] (phi3)
  float embd_scale = 1.0f;        // embeddings times this (gemma3: sqrt(n_embd))
  float attn_scale = 0.0f;        // q·k scale; 0: 1/sqrt(head_dim)
  float rope_attn_factor = 1.0f;  // longrope's cos/sin magnitude (phi3)
  int sliding_window = 0;         // local layers attend to this many positions; 0: none
  int swa_pattern = 0;            // every swa_pattern-th layer is global (gemma3: 6)
  float rope_freq_base_swa = 10000.0f;  // rope base of the local layers
  std::string rope_factors_tensor;      // per-dimension rope divisors (rope_freqs / phi3's short or long)

  /// True when layer il uses sliding-window attention.
  bool is_local_layer(int il) const noexcept {
    return sliding_window > 0 && swa_pattern > 0 && il % swa_pattern < swa_pattern - 1;
  }
};

enum class KvCacheType { f32, f16 };

struct ModelOptions {
  int threads = 0;      // compute threads; <= 0 means physical cores
  int n_ctx = 0;        // default context length of new contexts; 0: min(n_ctx_train, 4096)
  KvCacheType kv_type = KvCacheType::f32;
  /// Kernel family, set for the whole process before the weights load (see
  /// set_cpu_isa); unset: the family in use (the best, unless chosen). The
  /// CLI maps env CNAI_ISA=scalar|avx2|avx512 onto it.
  std::optional<CpuIsa> isa{};
  /// Repack Q4_1/Q8_0 weights at load into the layout the kernels read fastest;
  /// false keeps the file's layout (A/B measurements; the CLI's CNAI_PACK=0).
  bool repack = true;
  /// A compute pool shared with other models (several models in one process
  /// take turns on it, a forward pass at a time); it must outlive the model.
  /// Null: the model starts its own with `threads` threads.
  ThreadPool* pool = nullptr;
};

namespace model {
struct ModelWeights;
struct ContextState;
}  // namespace model

class Model {
 public:
  /// Loads a GGUF file. Errors: not_found, model_format (missing key or tensor,
  /// wrong shape, named), unsupported (unknown architecture or weight type).
  static std::shared_ptr<Model> load(const std::string& path, const ModelOptions& options = {});
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelConfig& config() const noexcept;
  const ModelOptions& options() const noexcept;
  const std::string& path() const noexcept;
  int threads() const noexcept;

  // Internal (used by Context and the engine).
  const model::ModelWeights& weights() const noexcept { return *weights_; }
  ThreadPool& pool() const noexcept { return *pool_; }

 private:
  Model() = default;
  std::string path_;
  ModelOptions options_;
  std::unique_ptr<model::ModelWeights> weights_;
  std::unique_ptr<ThreadPool> own_pool_;
  ThreadPool* pool_ = nullptr;
};

struct ContextOptions {
  int n_ctx = 0;        // 0: the model's default
  int n_batch = 512;    // largest batch processed at once (longer evals are split)
};

class Context {
 public:
  explicit Context(std::shared_ptr<const Model> model, const ContextOptions& options = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  /// Appends `tokens` at positions n_past() .. and returns the logits of the last
  /// one ([n_vocab]). With all_logits, every position's logits are kept and
  /// all_logits() returns [tokens.size() x n_vocab]. Errors, raised before any
  /// state changes: invalid_argument (empty batch, id outside the vocabulary),
  /// context_overflow (n_past + tokens > n_ctx).
  std::span<const float> eval(std::span<const std::int32_t> tokens, bool all_logits = false);

  /// Logits of the last position of the last eval.
  std::span<const float> logits() const noexcept;
  /// Logits of every position of the last eval made with all_logits (row-major).
  std::span<const float> all_logits() const noexcept;

  int n_past() const noexcept;
  int n_ctx() const noexcept;
  int n_vocab() const noexcept;
  /// Forgets every cached token.
  void reset() noexcept;
  /// Keeps the first n cached tokens (n <= n_past()), e.g. to reuse a prefix.
  void truncate(int n);

  const Model& model() const noexcept { return *model_; }

 private:
  std::shared_ptr<const Model> model_;
  std::unique_ptr<model::ContextState> state_;
};

}  // namespace cnai
