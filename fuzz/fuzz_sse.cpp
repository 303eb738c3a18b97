// libFuzzer target: SseParser on arbitrary bytes, fed in pieces whose sizes
// come from the input; it may throw cnai::Error but must never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "clients/sse_parser.hpp"
#include "cnai/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::size_t step = data[0] % 17 + 1;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  cnai::clients::SseParser parser(4096);
  std::size_t data_bytes = 0;
  try {
    for (std::size_t i = 0; i < input.size(); i += step) {
      parser.feed(input.substr(i, step), [&](const cnai::clients::SseEvent& e) {
        data_bytes += e.data.size();
      });
    }
    parser.finish();
  } catch (const cnai::Error&) {
  }
  if (data_bytes > input.size()) __builtin_trap();  // every data byte comes from the input
  return 0;
}
