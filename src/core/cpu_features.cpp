// CPU feature detection (CPUID through the compiler's builtins) and the one
// process-wide choice of kernel family that matmul and the row kernels share.
#include "cnai/core/cpu_features.hpp"

#include <atomic>
#include <string>

#include "cnai/core/error.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace cnai {
namespace {

#if defined(__x86_64__) || defined(__i386__)
// clang 14's __builtin_cpu_supports does not know "f16c": ask CPUID (leaf 1, ECX bit 29).
bool cpuid_f16c() noexcept {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & (1u << 29)) != 0;
}

// The builtins also check that the OS saves the wider registers (XCR0).
CpuFeatures detect() noexcept {
  __builtin_cpu_init();
  CpuFeatures f;
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.f16c = cpuid_f16c();
  f.bmi2 = __builtin_cpu_supports("bmi2");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  f.avx512vnni = __builtin_cpu_supports("avx512vnni");
  return f;
}
#else
CpuFeatures detect() noexcept { return {}; }
#endif

// What each family's files are compiled for (-m flags in cmake/CnaiLayers.cmake):
// the compiler may use any of it anywhere in them.
[[maybe_unused]] bool supports(const CpuFeatures& f, CpuIsa isa) noexcept {
  const bool avx2 = f.avx2 && f.fma && f.f16c && f.bmi2;
  switch (isa) {
    case CpuIsa::scalar: return true;
    case CpuIsa::avx2: return avx2;
    case CpuIsa::avx512: return avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni;
  }
  return false;
}

constexpr int kBest = -1;
std::atomic<int> g_chosen{kBest};

}  // namespace

const CpuFeatures& cpu_features() noexcept {
  static const CpuFeatures features = detect();
  return features;
}

bool cpu_isa_available(CpuIsa isa) noexcept {
#if CNAI_X86_KERNELS
  return supports(cpu_features(), isa);
#else
  return isa == CpuIsa::scalar;  // the AVX kernels were not built
#endif
}

CpuIsa best_cpu_isa() noexcept {
  static const CpuIsa best = [] {
    for (CpuIsa isa : {CpuIsa::avx512, CpuIsa::avx2})
      if (cpu_isa_available(isa)) return isa;
    return CpuIsa::scalar;
  }();
  return best;
}

CpuIsa active_cpu_isa() noexcept {
  const int chosen = g_chosen.load(std::memory_order_relaxed);
  return chosen == kBest ? best_cpu_isa() : static_cast<CpuIsa>(chosen);
}

void set_cpu_isa(std::optional<CpuIsa> isa) {
  if (isa && !cpu_isa_available(*isa)) {
    throw Error(ErrorCode::unsupported, "kernel family '" + std::string(to_string(*isa)) +
                                            "' is not available on this CPU or build (best: " +
                                            std::string(to_string(best_cpu_isa())) + ")");
  }
  g_chosen.store(isa ? static_cast<int>(*isa) : kBest, std::memory_order_relaxed);
}

std::string_view to_string(CpuIsa isa) noexcept {
  switch (isa) {
    case CpuIsa::scalar: return "scalar";
    case CpuIsa::avx2: return "avx2";
    case CpuIsa::avx512: return "avx512";
  }
  return "scalar";
}

std::optional<CpuIsa> cpu_isa_from_string(std::string_view name) noexcept {
  for (CpuIsa isa : {CpuIsa::scalar, CpuIsa::avx2, CpuIsa::avx512})
    if (name == to_string(isa)) return isa;
  return std::nullopt;
}

}  // namespace cnai
