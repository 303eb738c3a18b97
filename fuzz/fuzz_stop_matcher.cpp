// libFuzzer target: StopMatcher with stops and text drawn from a small alphabet
// (ASCII and multi-byte characters, so matches and partial matches are common),
// pushed in chunks whose sizes come from the input. Traps unless emits + flush
// equal the text cut before the earliest stop, stopped() says whether a stop
// occurred, nothing is emitted after a stop, and no emit splits a character.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cnai/text/stop_matcher.hpp"

namespace {

const char* const kAlphabet[] = {"a", "b", "c", "\xC3\xA9" /* é */, "\xE2\x86\x92" /* → */, "\xF0\x9F\x98\x80"};
constexpr std::size_t kAlphabetSize = sizeof(kAlphabet) / sizeof(kAlphabet[0]);

struct Input {
  const uint8_t* p;
  const uint8_t* end;
  bool empty() const { return p == end; }
  uint8_t next() { return p == end ? 0 : *p++; }
};

bool is_boundary(const std::string& s, std::size_t i) {
  return i == s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in{data, data + size};
  std::vector<std::string> stops(in.next() % 3 + 1);
  for (auto& stop : stops) {
    const int len = in.next() % 5 + 1;
    for (int i = 0; i < len; ++i) stop += kAlphabet[in.next() % kAlphabetSize];
  }
  // The rest: pairs (characters in this chunk, character).
  std::vector<std::string> chunks;
  std::string text;
  while (!in.empty()) {
    const int n_chars = in.next() % 5;  // 0: an empty push
    std::string chunk;
    for (int i = 0; i < n_chars && !in.empty(); ++i) chunk += kAlphabet[in.next() % kAlphabetSize];
    text += chunk;
    chunks.push_back(chunk);
  }
  std::size_t cut = text.size();
  for (const auto& s : stops) cut = std::min(cut, text.find(s));
  const std::string expected = text.substr(0, cut);

  cnai::StopMatcher matcher(stops);
  std::string out;
  bool stopped = false;
  for (const auto& chunk : chunks) {
    const auto r = matcher.push(chunk);
    if (stopped && !r.emit.empty()) __builtin_trap();
    out += r.emit;
    if (out.size() > text.size() || !is_boundary(text, out.size())) __builtin_trap();
    stopped = stopped || r.stopped;
  }
  out += matcher.flush();
  if (out != expected) __builtin_trap();
  if (matcher.stopped() != (cut != text.size())) __builtin_trap();
  return 0;
}
