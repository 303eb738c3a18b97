// The CPU's instruction-set features, detected once for the whole library,
// and the kernel family (ISA) every compute kernel uses: the best one built in
// and supported, unless the host chose another (ModelOptions::isa, set_cpu_isa).
#pragma once

#include <optional>
#include <string_view>

#include "cnai/core/error.hpp"

namespace cnai {

/// Kernel families, each needing more of the CPU than the one before.
enum class CpuIsa { scalar, avx2, avx512 };

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false, bmi2 = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false;
};

/// What this CPU and OS support (x86 only; all false elsewhere).
const CpuFeatures& cpu_features() noexcept;

/// True when `isa`'s kernels are built in and this CPU runs them.
bool cpu_isa_available(CpuIsa isa) noexcept;

/// The best available family.
CpuIsa best_cpu_isa() noexcept;

/// The family the kernels use now: best_cpu_isa() unless set_cpu_isa() chose one.
CpuIsa active_cpu_isa() noexcept;

/// Chooses the family for the whole process (the kernel tables are shared by
/// every model); nullopt goes back to the best. Choose before loading models:
/// weights are repacked at load for the family then in use. Throws
/// Error(unsupported) when `isa` is not available here.
void set_cpu_isa(std::optional<CpuIsa> isa);

/// "scalar", "avx2", "avx512".
std::string_view to_string(CpuIsa isa) noexcept;
/// The inverse of to_string; nullopt for any other name.
std::optional<CpuIsa> cpu_isa_from_string(std::string_view name) noexcept;

}  // namespace cnai
