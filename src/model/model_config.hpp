// Reads a ModelConfig from GGUF metadata (`general.architecture` and the
// `<arch>.*` hyper-parameter keys).
#pragma once

#include "cnai/gguf/gguf.hpp"
#include "cnai/model/model.hpp"

namespace cnai::model {

/// Error(model_format) naming a missing or inconsistent key; Error(unsupported)
/// for an unknown architecture or rope scaling type.
ModelConfig read_model_config(const GgufReader& gguf);

}  // namespace cnai::model
