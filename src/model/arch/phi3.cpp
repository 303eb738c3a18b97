// phi3: fused attn_qkv ([Q | K | V] rows) and ffn_up ([gate | up] rows) tensors,
// split into row views at load; NeoX rope with longrope scaling: per-dimension
// factors rope_factors_short (contexts up to rope.scaling.original_context_length)
// or rope_factors_long, and rope.scaling.attn_factor on cos/sin. llama.cpp runs
// phi3 without sliding windows, and so does cnai.
#include <cmath>

#include "cnai/core/error.hpp"
#include "model/arch/architecture.hpp"

namespace cnai::model {
namespace {

void read_phi3(const GgufReader& g, int n_ctx, ModelConfig& c) {
  if (!g.find_tensor("rope_factors_short.weight")) return;
  const int orig = static_cast<int>(g.find_u32("phi3.rope.scaling.original_context_length").value_or(
      static_cast<std::uint32_t>(c.n_ctx_train)));
  c.rope_factors_tensor = n_ctx > orig ? "rope_factors_long.weight" : "rope_factors_short.weight";
  c.rope_attn_factor = g.find_f32("phi3.rope.scaling.attn_factor").value_or(1.0f);
  if (!(c.rope_attn_factor > 0.0f) || !std::isfinite(c.rope_attn_factor))
    throw Error(ErrorCode::model_format, "phi3.rope.scaling.attn_factor must be finite and > 0");
}

}  // namespace

const ArchSpec& phi3_arch() noexcept {
  static constexpr ArchSpec spec{.name = "phi3",
                                 .rope_neox = true,
                                 .qkv_bias = false,
                                 .fused_qkv = true,
                                 .fused_gate_up = true,
                                 .read_extra = read_phi3};
  return spec;
}

}  // namespace cnai::model
