// qwen2: Llama layout plus Q/K/V biases, with NeoX (split-halves) rope.
#include "model/arch/architecture.hpp"

namespace cnai::model {

const ArchSpec& qwen2_arch() noexcept {
  static constexpr ArchSpec spec{.name = "qwen2", .rope_neox = true, .qkv_bias = true};
  return spec;
}

}  // namespace cnai::model
