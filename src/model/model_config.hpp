// Reads a ModelConfig from GGUF metadata (`general.architecture` and the
// `<arch>.*` hyper-parameter keys).
#pragma once

#include "cnai/gguf/gguf.hpp"
#include "cnai/model/model.hpp"

namespace cnai::model {

/// Error(model_format) naming a missing or inconsistent key; Error(unsupported)
/// for an unknown architecture or rope scaling type. n_ctx: the context the model
/// runs with (0: the default, min(context_length, 4096)).
ModelConfig read_model_config(const GgufReader& gguf, int n_ctx = 0);

/// The default context of a model: min(context_length, 4096).
int default_n_ctx(const ModelConfig& c);

}  // namespace cnai::model
