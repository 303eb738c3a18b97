// libFuzzer target: a router config (YAML or JSON) from arbitrary bytes.
// check_router_config reports problems and must never throw, crash or hang;
// every problem it reports names a line inside the input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "cnai/router/router_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "SET") return std::string("value");
    return std::nullopt;
  };
  cnai::ConfigCheck check;
  try {
    check = cnai::check_router_config(text, "fuzz", env);
  } catch (...) {
    __builtin_trap();  // problems are reported, never thrown
  }
  const long lines = 1 + std::count(text.begin(), text.end(), '\n');
  for (const auto& p : check.problems)
    if (p.line < 0 || p.line > lines + 1) __builtin_trap();
  return 0;
}
