// libFuzzer target: the BERT encoder loader on arbitrary GGUF bytes. Only
// cnai::Error may escape reading the config and the weights; a model that
// loads then embeds one short sequence (bounded: small models only).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/core/thread_pool.hpp"
#include "cnai/gguf/gguf.hpp"
#include "model/encoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static cnai::ThreadPool pool(1);
  try {
    const auto g = cnai::GgufReader::from_bytes(std::span<const std::uint8_t>(data, size));
    const cnai::EncoderConfig c = cnai::model::read_encoder_config(g, {});
    const auto w = cnai::model::load_encoder_weights(g, c, cnai::EncoderOptions{});
    if (std::int64_t{c.n_embd} * c.n_ff * c.n_layer > (1 << 22) || c.n_ctx_train < 3) return 0;
    const std::vector<std::int32_t> ids{0, c.n_vocab - 1, 0};
    const std::span<const std::int32_t> seq(ids);
    std::vector<float> out(static_cast<std::size_t>(c.n_embd));
    cnai::model::EncoderScratch scratch;
    cnai::model::encode_batch(*w, scratch, pool, std::span(&seq, 1), out.data());
  } catch (const cnai::Error&) {
  }
  return 0;
}
