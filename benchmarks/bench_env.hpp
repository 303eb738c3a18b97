// What the benchmarks take from the environment (the library reads none of it):
// the default model's path, and CNAI_ISA / CNAI_PACK for A/B runs of kernel
// families and weight layouts.
#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "cnai/core/cpu_features.hpp"
#include "cnai/model/model.hpp"

namespace cnai::bench {

inline std::string model_path() {
  if (const char* p = std::getenv("CNAI_MODEL"); p && *p) return p;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.cache/cnai/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

/// CNAI_ISA=scalar|avx2|avx512, or nullopt when unset.
inline std::optional<CpuIsa> isa_from_env() {
  const char* env = std::getenv("CNAI_ISA");
  if (!env || !*env) return std::nullopt;
  auto isa = cpu_isa_from_string(env);
  if (!isa) throw std::invalid_argument(std::string("CNAI_ISA=") + env + " is not scalar, avx2 or avx512");
  return isa;
}

/// CNAI_PACK=0 turns repacking off.
inline bool repack_from_env() {
  const char* env = std::getenv("CNAI_PACK");
  return !(env && std::string(env) == "0");
}

inline void apply_env(ModelOptions& o) {
  o.isa = isa_from_env();
  o.repack = repack_from_env();
}

}  // namespace cnai::bench
