// llama: Llama 2/3, Mistral, TinyLlama, SmolLM2. Interleaved-pair rope (GGUF
// stores Q/K permuted for it), no biases, optional rope_freqs and output.weight.
#include "model/arch/architecture.hpp"

namespace cnai::model {

const ArchSpec& llama_arch() noexcept {
  static constexpr ArchSpec spec{.name = "llama", .rope_neox = false, .qkv_bias = false};
  return spec;
}

}  // namespace cnai::model
