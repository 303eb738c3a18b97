// EncoderModel: loading, the checks on a batch, and the pass under the lock.
#include <string>

#include "cnai/core/error.hpp"
#include "cnai/core/thread_pool.hpp"
#include "cnai/gguf/gguf.hpp"
#include "cnai/model/encoder.hpp"
#include "model/arch/architecture.hpp"
#include "model/encoder.hpp"

namespace cnai {

std::string_view to_string(Pooling p) noexcept {
  switch (p) {
    case Pooling::mean: return "mean";
    case Pooling::cls: return "cls";
    case Pooling::last: return "last";
  }
  return "unknown";
}

EncoderModel::EncoderModel() = default;
EncoderModel::~EncoderModel() = default;

bool EncoderModel::is_encoder_architecture(std::string_view arch) {
  try {
    return model::find_arch(arch).encoder;
  } catch (const Error&) {
    return false;
  }
}

std::shared_ptr<EncoderModel> EncoderModel::load(const std::string& path, const EncoderOptions& options) {
  const GgufReader gguf = GgufReader::open(path);
  const EncoderConfig config = model::read_encoder_config(gguf, options);
  std::shared_ptr<EncoderModel> m(new EncoderModel());
  m->path_ = path;
  m->weights_ = model::load_encoder_weights(gguf, config, options);  // tensors keep the mapping alive
  m->pool_ = std::make_unique<ThreadPool>(options.threads);
  m->scratch_ = std::make_unique<model::EncoderScratch>();
  return m;
}

const EncoderConfig& EncoderModel::config() const noexcept { return weights_->config; }
const std::string& EncoderModel::path() const noexcept { return path_; }
int EncoderModel::threads() const noexcept { return pool_->size(); }

void EncoderModel::embed(std::span<const std::span<const std::int32_t>> sequences, std::span<float> out) const {
  const EncoderConfig& c = config();
  if (sequences.empty()) throw Error(ErrorCode::invalid_argument, "embed: no sequences");
  const std::size_t want = sequences.size() * static_cast<std::size_t>(c.n_embd);
  if (out.size() != want)
    throw Error(ErrorCode::invalid_argument, "embed: output holds " + std::to_string(out.size()) +
                                                 " floats, expected " + std::to_string(want));
  for (std::size_t i = 0; i < sequences.size(); ++i) {
    const auto& seq = sequences[i];
    const std::string which = "sequence " + std::to_string(i);
    if (seq.empty()) throw Error(ErrorCode::invalid_argument, "embed: " + which + " is empty");
    if (seq.size() > static_cast<std::size_t>(c.n_ctx_train))
      throw Error(ErrorCode::context_overflow, "embed: " + which + " has " + std::to_string(seq.size()) +
                                                   " tokens; the model takes at most " +
                                                   std::to_string(c.n_ctx_train));
    for (std::int32_t id : seq)
      if (id < 0 || id >= c.n_vocab)
        throw Error(ErrorCode::invalid_argument, "embed: " + which + " has token id " + std::to_string(id) +
                                                     " outside [0, " + std::to_string(c.n_vocab) + ")");
  }
  std::lock_guard lock(scratch_->mutex);
  model::encode_batch(*weights_, *scratch_, *pool_, sequences, out.data());
}

}  // namespace cnai
