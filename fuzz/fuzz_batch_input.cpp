// libFuzzer target: a Batch API input file (JSONL) and a multipart upload
// body. Bad lines become errors naming their line; nothing crashes, every
// accepted line is a real line of the input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cnai/core/error.hpp"
#include "server/batch_input.hpp"
#include "server/multipart.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  cnai::server::BatchInputLimits limits;
  limits.max_lines = 100;
  limits.max_errors = 10;
  const auto parsed = cnai::server::parse_batch_input(input, "/v1/chat/completions", limits);
  std::int64_t lines = 1;
  for (char c : input) lines += c == '\n';
  if (parsed.lines.size() > limits.max_lines || parsed.errors.size() > limits.max_errors) __builtin_trap();
  for (const auto& l : parsed.lines) {
    if (l.line < 1 || l.line > lines || l.custom_id.empty() || l.body.empty() || l.body[0] != '{') __builtin_trap();
  }
  try {
    for (const auto& p : cnai::server::parse_multipart(input, "b0undary")) {
      if (p.data.data() < input.data() || p.data.data() + p.data.size() > input.data() + input.size()) __builtin_trap();
    }
  } catch (const cnai::Error&) {
  }
  return 0;
}
