#include "model/model_config.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "cnai/core/error.hpp"
#include "model/arch/architecture.hpp"

namespace cnai::model {
namespace {

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorCode::model_format, what); }

int required_int(const GgufReader& g, const std::string& key) {
  const std::uint32_t v = g.get_u32(key);  // throws "missing metadata key '...'"
  if (v == 0 || v > (1u << 30)) bad("metadata key '" + key + "' has invalid value " + std::to_string(v));
  return static_cast<int>(v);
}

int optional_int(const GgufReader& g, const std::string& key, int fallback) {
  const auto v = g.find_u32(key);
  if (!v) return fallback;
  if (*v == 0 || *v > (1u << 30)) bad("metadata key '" + key + "' has invalid value " + std::to_string(*v));
  return static_cast<int>(*v);
}

int vocab_size(const GgufReader& g, const std::string& a) {
  if (g.has(a + ".vocab_size")) return required_int(g, a + ".vocab_size");
  if (const GgufValue* tokens = g.find("tokenizer.ggml.tokens"))
    return static_cast<int>(tokens->as_array("tokenizer.ggml.tokens").size);
  const GgufTensorInfo& embd = g.tensor_info("token_embd.weight");
  return static_cast<int>(embd.shape[0]);
}

void read_rope(const GgufReader& g, const std::string& a, ModelConfig& c) {
  c.n_rot = optional_int(g, a + ".rope.dimension_count", c.head_dim);
  if (c.n_rot > c.head_dim || c.n_rot % 2 != 0)
    bad("metadata key '" + a + ".rope.dimension_count' = " + std::to_string(c.n_rot) +
        " must be even and <= head_dim " + std::to_string(c.head_dim));
  c.rope_freq_base = g.find_f32(a + ".rope.freq_base").value_or(10000.0f);
  if (!(c.rope_freq_base > 0.0f) || !std::isfinite(c.rope_freq_base))
    bad("metadata key '" + a + ".rope.freq_base' must be finite and > 0");
  const std::string type = g.find_string(a + ".rope.scaling.type").value_or("none");
  const float factor = g.find_f32(a + ".rope.scaling.factor").value_or(0.0f);
  if (type == "linear" && factor > 0.0f) {
    c.rope_freq_scale = 1.0f / factor;
  } else if (type != "none" && type != "linear" && factor > 1.0f) {
    throw Error(ErrorCode::unsupported, "rope scaling type '" + type + "' is not supported (only linear)");
  }
}

}  // namespace

int default_n_ctx(const ModelConfig& c) { return std::min(c.n_ctx_train, 4096); }

ModelConfig read_model_config(const GgufReader& g, int n_ctx) {
  ModelConfig c;
  c.arch = g.get_string("general.architecture");
  const ArchSpec& spec = find_arch(c.arch);
  c.name = g.find_string("general.name").value_or("");
  const std::string& a = c.arch;
  c.n_layer = required_int(g, a + ".block_count");
  c.n_embd = required_int(g, a + ".embedding_length");
  c.n_ff = required_int(g, a + ".feed_forward_length");
  c.n_head = required_int(g, a + ".attention.head_count");
  c.n_head_kv = optional_int(g, a + ".attention.head_count_kv", c.n_head);
  c.n_ctx_train = required_int(g, a + ".context_length");
  if (c.n_head % c.n_head_kv != 0)
    bad("attention.head_count " + std::to_string(c.n_head) + " is not a multiple of head_count_kv " +
        std::to_string(c.n_head_kv));
  c.head_dim = optional_int(g, a + ".attention.key_length", c.n_embd / c.n_head);
  if (c.head_dim * c.n_head != c.n_embd && !g.has(a + ".attention.key_length"))
    bad("embedding_length " + std::to_string(c.n_embd) + " is not a multiple of head_count " +
        std::to_string(c.n_head));
  c.rms_eps = g.get_f32(a + ".attention.layer_norm_rms_epsilon");
  if (!(c.rms_eps > 0.0f) || !std::isfinite(c.rms_eps))
    bad("metadata key '" + a + ".attention.layer_norm_rms_epsilon' must be finite and > 0");
  c.n_vocab = vocab_size(g, a);
  read_rope(g, a, c);
  c.rope_neox = spec.rope_neox;
  c.qkv_bias = spec.qkv_bias;
  c.tied_output = g.find_tensor("output.weight") == nullptr;
  c.has_rope_freqs = g.find_tensor("rope_freqs.weight") != nullptr;
  if (c.has_rope_freqs) c.rope_factors_tensor = "rope_freqs.weight";
  c.qk_norm = spec.qk_norm;
  c.post_norms = spec.post_norms;
  c.gelu_ffn = spec.gelu_ffn;
  c.fused_qkv = spec.fused_qkv;
  c.fused_gate_up = spec.fused_gate_up;
  if (spec.read_extra) spec.read_extra(g, n_ctx > 0 ? n_ctx : default_n_ctx(c), c);
  c.has_rope_freqs = !c.rope_factors_tensor.empty();
  return c;
}

}  // namespace cnai::model
