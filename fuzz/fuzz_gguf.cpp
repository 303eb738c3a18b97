// libFuzzer target: GgufReader on arbitrary bytes. Only cnai::Error may escape
// the parser; every value and tensor it accepts is then read end to end.
#include <cstddef>
#include <cstdint>
#include <bit>
#include <span>

#include "cnai/core/error.hpp"
#include "cnai/gguf/gguf.hpp"

namespace {

volatile std::uint64_t g_sink = 0;  // keeps the reads from being optimised away
void sink(std::uint64_t x) { g_sink = g_sink + x; }

void touch(const cnai::GgufValue& v, int depth);

// Every typed accessor, where a mismatch must surface as cnai::Error.
void try_accessors(const cnai::GgufValue& v) {
  auto attempt = [](auto&& f) {
    try {
      f();
    } catch (const cnai::Error&) {
    }
  };
  attempt([&] { sink(v.as_u32()); });
  attempt([&] { sink(static_cast<std::uint64_t>(v.as_i64())); });
  attempt([&] { sink(std::bit_cast<std::uint32_t>(v.as_f32())); });
  attempt([&] { sink(v.as_bool()); });
  attempt([&] { sink(v.as_string().size()); });
  attempt([&] { sink(v.as_string_array().size()); });
  attempt([&] { sink(v.as_f32_array().size()); });
  attempt([&] { sink(v.as_i32_array().size()); });
  attempt([&] { sink(v.as_u32_array().size()); });
}

void touch(const cnai::GgufValue& v, int depth) {
  sink(v.describe().size());
  try_accessors(v);
  if (const cnai::GgufArray* a = v.to_array()) {
    for (std::size_t i = 0; i < a->size; ++i) {
      const cnai::GgufValue e = a->element(i);
      if (depth < 2 || i < 4) touch(e, depth + 1);  // bound the work on huge nested arrays
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto r = cnai::GgufReader::from_bytes(std::span<const std::uint8_t>(data, size));
    for (const auto& kv : r.metadata()) {
      touch(kv.value, 0);
      sink(r.get(kv.key).describe().size());
    }
    for (const auto& info : r.tensors()) {
      const cnai::Tensor t = r.tensor(info);
      const auto* p = static_cast<const std::uint8_t*>(t.data());
      sink(p[0] + p[t.nbytes() - 1] + t.numel());
      const auto bytes = r.tensor_bytes(*r.find_tensor(info.name));
      sink(bytes.size() + bytes[bytes.size() - 1]);
    }
  } catch (const cnai::Error&) {
  }
  return 0;
}
