// Architecture registry: what distinguishes one Llama-family architecture from
// another (rope style, QKV biases). The layer code itself is shared
// (transformer.cpp); each architecture file only describes its differences.
// Encoders (bert) are marked as such and run by encoder.cpp instead.
#pragma once

#include <string_view>

namespace cnai::model {

struct ArchSpec {
  std::string_view name;
  bool rope_neox;   // NeoX rope (split halves) instead of interleaved pairs
  bool qkv_bias;    // attn_{q,k,v}.bias tensors are present
  bool encoder = false;  // bidirectional encoder for embeddings (EncoderModel), not a decoder
};

const ArchSpec& llama_arch() noexcept;
const ArchSpec& qwen2_arch() noexcept;
const ArchSpec& bert_arch() noexcept;

/// The spec for a general.architecture value; Error(unsupported) if unknown.
const ArchSpec& find_arch(std::string_view name);

}  // namespace cnai::model
