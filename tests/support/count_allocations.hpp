// Counts heap allocations for "allocates nothing" tests by replacing the global
// operator new. Include it in exactly one source file of a test program: it
// defines the replacement, so it cannot be a normal (multiply included) header.
#pragma once

#include <atomic>
#include <cstdlib>
#include <new>

namespace cnai::testing {
inline std::atomic<bool> g_counting{false};
inline std::atomic<long> g_allocations{0};
}  // namespace cnai::testing

void* operator new(std::size_t n) {
  if (cnai::testing::g_counting.load(std::memory_order_relaxed))
    cnai::testing::g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
