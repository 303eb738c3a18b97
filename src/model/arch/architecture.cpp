#include "model/arch/architecture.hpp"

#include <string>

#include "cnai/core/error.hpp"

namespace cnai::model {

const ArchSpec& find_arch(std::string_view name) {
  for (const ArchSpec* spec : {&llama_arch(), &qwen2_arch(), &qwen3_arch(), &gemma3_arch(), &phi3_arch()})
    if (spec->name == name) return *spec;
  throw Error(ErrorCode::unsupported, "unsupported model architecture '" + std::string(name) +
                                          "' (supported: llama, qwen2, qwen3, gemma3, phi3)");
}

}  // namespace cnai::model
