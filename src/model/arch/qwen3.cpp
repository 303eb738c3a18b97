// qwen3: Llama layout with NeoX rope, no QKV biases, and an RMSNorm over each
// Q and K head (attn_q_norm / attn_k_norm) before rope; head_dim from key_length.
#include "model/arch/architecture.hpp"

namespace cnai::model {

const ArchSpec& qwen3_arch() noexcept {
  static constexpr ArchSpec spec{.name = "qwen3", .rope_neox = true, .qkv_bias = false, .qk_norm = true};
  return spec;
}

}  // namespace cnai::model
