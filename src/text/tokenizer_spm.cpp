// SentencePiece BPE (GGUF model "llama"): spaces become U+2581, characters are
// merged greedily by the score of the merged token, and characters missing from
// the vocabulary fall back to <0xNN> byte tokens.
#include <queue>
#include <string>

#include "cnai/core/error.hpp"
#include "text/tokenizer_internal.hpp"

namespace cnai {

using namespace text;

namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "<0xNN>" -> NN, or -1 if the text is not exactly that form.
int parse_byte_token(std::string_view t) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
  const int hi = hex_digit(t[3]);
  const int lo = hex_digit(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace

void Tokenizer::Impl::build_spm() {
  for (std::size_t i = 0; i < vocab.tokens.size(); ++i) {
    if (type_of(static_cast<std::int32_t>(i)) != TokenType::byte) continue;
    const int b = parse_byte_token(vocab.tokens[i]);
    if (b < 0) {
      throw Error(ErrorCode::model_format, "tokenizer vocabulary: byte token " + std::to_string(i) + " '" +
                                               vocab.tokens[i] + "' is not of the form <0xNN>");
    }
    if (byte_token[static_cast<std::size_t>(b)] < 0) byte_token[static_cast<std::size_t>(b)] = static_cast<std::int32_t>(i);
  }
  for (std::size_t i = 0; i < vocab.tokens.size() && !spm_newline_in_tokens; ++i) {
    const std::string& t = vocab.tokens[i];
    spm_newline_in_tokens = t.size() > 1 && t.find('\n') != std::string::npos;
  }
}

namespace {

struct SpmSymbol {
  int prev;
  int next;
  std::size_t offset;
  std::size_t length;  // 0 once merged into its left neighbour
};

struct SpmBigram {
  int left;
  int right;
  float score;
  std::size_t length;
  // Highest score first; among equals, the leftmost.
  bool operator<(const SpmBigram& o) const { return score < o.score || (score == o.score && left > o.left); }
};

}  // namespace

void Tokenizer::Impl::encode_spm(std::string_view raw, bool space_prefix, std::vector<std::int32_t>& out) const {
  std::string text;
  text.reserve(raw.size() + 8);
  if (space_prefix) text += kSpaceMarker;
  for (char c : raw) {
    if (c == ' ') {
      text += kSpaceMarker;
    } else {
      text += c;
    }
  }
  if (!spm_newline_in_tokens) {
    // No token spans a newline, so the lines merge independently: same result,
    // much smaller priority queues.
    std::size_t start = 0;
    for (std::size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
      encode_spm_chunk(std::string_view(text).substr(start, nl - start), out);
      encode_spm_chunk("\n", out);
      start = nl + 1;
    }
    encode_spm_chunk(std::string_view(text).substr(start), out);
    return;
  }
  encode_spm_chunk(text, out);
}

void Tokenizer::Impl::encode_spm_chunk(std::string_view text, std::vector<std::int32_t>& out) const {
  std::vector<SpmSymbol> sym;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t start = i;
    core::utf8_next(text, i);
    if (i > text.size()) i = text.size();
    const int idx = static_cast<int>(sym.size());
    sym.push_back({idx - 1, idx + 1, start, i - start});
  }
  if (sym.empty()) return;
  sym.back().next = -1;

  std::priority_queue<SpmBigram> queue;
  auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const std::size_t len = sym[left].length + sym[right].length;
    const std::int32_t id = find(text.substr(sym[left].offset, len));
    if (id < 0) return;
    const float score = vocab.scores.empty() ? 0.0f : vocab.scores[static_cast<std::size_t>(id)];
    queue.push({left, right, score, len});
  };
  for (int i = 1; i < static_cast<int>(sym.size()); ++i) try_add(i - 1, i);

  while (!queue.empty()) {
    const SpmBigram b = queue.top();
    queue.pop();
    SpmSymbol& l = sym[b.left];
    SpmSymbol& r = sym[b.right];
    if (l.length == 0 || r.length == 0 || l.length + r.length != b.length) continue;  // stale
    l.length += r.length;
    r.length = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }

  for (int i = 0; i >= 0; i = sym[i].next) {
    const std::string_view piece = text.substr(sym[i].offset, sym[i].length);
    if (const std::int32_t id = find(piece); id >= 0) {
      out.push_back(id);
      continue;
    }
    // Not a token: its bytes as <0xNN> tokens, or one unk if the vocab has none.
    bool all_bytes = true;
    for (char c : piece) all_bytes = all_bytes && byte_token[static_cast<unsigned char>(c)] >= 0;
    if (all_bytes) {
      for (char c : piece) out.push_back(byte_token[static_cast<unsigned char>(c)]);
    } else if (vocab.unk_id >= 0) {
      out.push_back(vocab.unk_id);
    }
  }
}

}  // namespace cnai
