// Model: opens the GGUF, reads the config, loads and checks the weights, and
// starts the compute pool.
#include "cnai/model/model.hpp"

#include <algorithm>

#include "cnai/core/thread_pool.hpp"
#include "cnai/gguf/gguf.hpp"
#include "model/llama_weights.hpp"
#include "model/model_config.hpp"

namespace cnai {

std::shared_ptr<Model> Model::load(const std::string& path, const ModelOptions& options) {
  const GgufReader gguf = GgufReader::open(path);
  const ModelConfig config = model::read_model_config(gguf, options.n_ctx);
  std::shared_ptr<Model> m(new Model());
  m->path_ = path;
  m->options_ = options;
  if (m->options_.n_ctx <= 0) m->options_.n_ctx = model::default_n_ctx(config);
  if (options.isa) set_cpu_isa(*options.isa);  // before packing: the layout follows the kernels
  m->weights_ = model::load_weights(gguf, config, /*file_mapped=*/true, options.repack);  // tensors keep the mapping alive
  if (!options.pool) m->own_pool_ = std::make_unique<ThreadPool>(options.threads);
  m->pool_ = options.pool ? options.pool : m->own_pool_.get();
  m->options_.threads = m->pool_->size();
  return m;
}

Model::~Model() = default;

const ModelConfig& Model::config() const noexcept { return weights_->config; }
const ModelOptions& Model::options() const noexcept { return options_; }
const std::string& Model::path() const noexcept { return path_; }
int Model::threads() const noexcept { return pool_->size(); }

}  // namespace cnai
