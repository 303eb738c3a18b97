// Architecture registry: what distinguishes one Llama-family architecture from
// another (rope style, biases, QK-norm, post-norms, GeGLU, fused tensors, and
// hyper-parameters of its own). The layer code itself is shared
// (transformer.cpp); each architecture file only describes its differences.
#pragma once

#include <string_view>

#include "cnai/gguf/gguf.hpp"
#include "cnai/model/model.hpp"

namespace cnai::model {

struct ArchSpec {
  std::string_view name;
  bool rope_neox;              // NeoX rope (split halves) instead of interleaved pairs
  bool qkv_bias;               // attn_{q,k,v}.bias tensors are present
  bool qk_norm = false;        // attn_{q,k}_norm.weight: RMSNorm per head
  bool post_norms = false;     // post_attention_norm / post_ffw_norm
  bool gelu_ffn = false;       // GeGLU with tanh GELU
  bool fused_qkv = false;      // attn_qkv.weight
  bool fused_gate_up = false;  // ffn_up.weight holds gate and up
  /// Reads the architecture's own `<arch>.*` keys into c (after the common ones); n_ctx is
  /// the context the model will run with (phi3 picks its rope factors by it). May be null.
  void (*read_extra)(const GgufReader& g, int n_ctx, ModelConfig& c) = nullptr;
};

const ArchSpec& llama_arch() noexcept;
const ArchSpec& qwen2_arch() noexcept;
const ArchSpec& qwen3_arch() noexcept;
const ArchSpec& gemma3_arch() noexcept;
const ArchSpec& phi3_arch() noexcept;

/// The spec for a general.architecture value; Error(unsupported) if unknown.
const ArchSpec& find_arch(std::string_view name);

}  // namespace cnai::model
