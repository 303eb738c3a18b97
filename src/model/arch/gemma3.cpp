// gemma3: embeddings scaled by sqrt(n_embd); RMSNorm before and after each block
// (GGUF stores Gemma's (1 + w) norm weights with the 1 added); QK-norm; GeGLU with
// tanh GELU; local layers with sliding-window attention and their own rope base,
// every swa_pattern-th layer global (llama.cpp's rule: il % pattern == pattern-1);
// tied output.
#include <cmath>
#include <string>

#include "cnai/core/error.hpp"
#include "model/arch/architecture.hpp"

namespace cnai::model {
namespace {

void read_gemma3(const GgufReader& g, int, ModelConfig& c) {
  c.embd_scale = std::sqrt(static_cast<float>(c.n_embd));
  c.attn_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));  // query_pre_attn_scalar = head_dim
  const std::uint32_t window = g.find_u32("gemma3.attention.sliding_window").value_or(0);
  if (window > (1u << 30)) throw Error(ErrorCode::model_format, "gemma3.attention.sliding_window is out of range");
  c.sliding_window = static_cast<int>(window);
  c.swa_pattern = static_cast<int>(g.find_u32("gemma3.attention.sliding_window_pattern").value_or(6));
  if (c.sliding_window > 0 && (c.swa_pattern < 1 || c.swa_pattern > c.n_layer + 1))
    throw Error(ErrorCode::model_format, "gemma3.attention.sliding_window_pattern " + std::to_string(c.swa_pattern) +
                                             " must be in [1, block_count + 1]");
  c.rope_freq_base_swa = g.find_f32("gemma3.rope.freq_base_swa").value_or(10000.0f);
  if (!(c.rope_freq_base_swa > 0.0f) || !std::isfinite(c.rope_freq_base_swa))
    throw Error(ErrorCode::model_format, "gemma3.rope.freq_base_swa must be finite and > 0");
}

}  // namespace

const ArchSpec& gemma3_arch() noexcept {
  static constexpr ArchSpec spec{.name = "gemma3",
                                 .rope_neox = true,
                                 .qkv_bias = false,
                                 .qk_norm = true,
                                 .post_norms = true,
                                 .gelu_ffn = true,
                                 .read_extra = read_gemma3};
  return spec;
}

}  // namespace cnai::model
