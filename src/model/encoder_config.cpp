// Reads an EncoderConfig from GGUF metadata (`general.architecture` and the
// `<arch>.*` keys llama.cpp writes for BERT).
#include <cmath>
#include <string>

#include "cnai/core/error.hpp"
#include "model/arch/architecture.hpp"
#include "model/encoder_weights.hpp"

namespace cnai::model {
namespace {

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorCode::model_format, what); }

int positive(const GgufReader& g, const std::string& key, std::optional<int> fallback = std::nullopt) {
  const auto v = g.find_u32(key);
  if (!v) {
    if (fallback) return *fallback;
    bad("missing metadata key '" + key + "'");
  }
  if (*v == 0 || *v > (1u << 30)) bad("metadata key '" + key + "' has invalid value " + std::to_string(*v));
  return static_cast<int>(*v);
}

Pooling pooling_from(const GgufReader& g, const std::string& key) {
  const auto v = g.find_u32(key);
  if (!v) return Pooling::mean;
  switch (*v) {  // llama.cpp's enum llama_pooling_type
    case 1: return Pooling::mean;
    case 2: return Pooling::cls;
    case 3: return Pooling::last;
    default:
      throw Error(ErrorCode::unsupported, "metadata key '" + key + "' = " + std::to_string(*v) +
                                              ": only mean (1), cls (2) and last (3) pooling are supported");
  }
}

}  // namespace

EncoderConfig read_encoder_config(const GgufReader& g, const EncoderOptions& options) {
  EncoderConfig c;
  c.arch = g.get_string("general.architecture");
  if (!find_arch(c.arch).encoder)
    throw Error(ErrorCode::unsupported, "'" + c.arch + "' is a decoder architecture, not an encoder: load it with "
                                        "Model::load or LocalEngine::load");
  const std::string& a = c.arch;
  c.name = g.find_string("general.name").value_or("");
  c.n_layer = positive(g, a + ".block_count");
  c.n_embd = positive(g, a + ".embedding_length");
  c.n_ff = positive(g, a + ".feed_forward_length");
  c.n_head = positive(g, a + ".attention.head_count");
  c.n_head_kv = positive(g, a + ".attention.head_count_kv", c.n_head);
  c.n_ctx_train = positive(g, a + ".context_length");
  if (c.n_embd % c.n_head != 0 || c.n_head % c.n_head_kv != 0)
    bad("embedding_length " + std::to_string(c.n_embd) + ", head_count " + std::to_string(c.n_head) +
        " and head_count_kv " + std::to_string(c.n_head_kv) + " do not divide evenly");
  c.head_dim = c.n_embd / c.n_head;
  c.norm_eps = g.get_f32(a + ".attention.layer_norm_epsilon");
  if (!(c.norm_eps >= 0.0f) || !std::isfinite(c.norm_eps))
    bad("metadata key '" + a + ".attention.layer_norm_epsilon' must be finite and >= 0");
  if (g.find_bool(a + ".attention.causal").value_or(false))
    throw Error(ErrorCode::unsupported, "'" + a + ".attention.causal' is true: a causal encoder is not supported");
  c.n_vocab = static_cast<int>(g.tensor_info("token_embd.weight").shape[0]);
  c.pooling = options.pooling.value_or(pooling_from(g, a + ".pooling_type"));
  c.normalize = options.normalize.value_or(g.find_bool("cnai.embedding.normalize").value_or(true));
  return c;
}

}  // namespace cnai::model
