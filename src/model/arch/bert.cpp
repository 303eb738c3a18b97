// bert: BERT-family encoders (MiniLM, BGE, ...) as llama.cpp stores them:
// token, position and token-type embeddings with a LayerNorm, post-LayerNorm
// blocks of bidirectional attention and a GELU feed-forward, all with biases;
// no rope. The forward pass is encoder.cpp, not the decoder's.
#include "model/arch/architecture.hpp"

namespace cnai::model {

const ArchSpec& bert_arch() noexcept {
  static constexpr ArchSpec spec{.name = "bert", .rope_neox = false, .qkv_bias = true, .encoder = true};
  return spec;
}

}  // namespace cnai::model
