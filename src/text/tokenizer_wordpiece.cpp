// WordPiece (GGUF model "bert"), as BERT-uncased vocabularies expect: lowercase,
// strip accents, split on whitespace, punctuation and CJK characters, then
// greedy longest-match. GGUF stores word starts with a "▁" prefix and
// continuations ("##x" in BERT) without it.
#include <algorithm>
#include <locale>
#include <string>

#include "text/tokenizer_internal.hpp"
#include "text/tokenizer_nfd_table.hpp"

namespace cnai {

using namespace text;

namespace {

constexpr std::size_t kMaxWordChars = 100;  // longer words become [UNK], as in BERT

// Words: runs of anything but whitespace, control, punctuation and CJK; every
// punctuation, ASCII symbol or CJK character stands alone.
const std::vector<std::string>& word_patterns() {
  static const std::vector<std::string> patterns = {
      R"([\p{P}\x{21}-\x{2F}\x{3A}-\x{40}\x{5B}-\x{60}\x{7B}-\x{7E}])"
      R"(|[\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}\x{2A700}-\x{2B81F}\x{2B820}-\x{2CEAF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}])"
      R"(|[^\s\p{C}\p{P}\x{21}-\x{2F}\x{3A}-\x{40}\x{5B}-\x{60}\x{7B}-\x{7E}\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}\x{2A700}-\x{2B81F}\x{2B820}-\x{2CEAF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}]+)"};
  return patterns;
}

// Canonical decomposition without nonspacing marks (BERT's strip_accents).
void append_without_accents(std::string& out, std::uint32_t cp) {
  constexpr std::uint32_t kHangulFirst = 0xAC00, kHangulLast = 0xD7A3;
  if (cp >= kHangulFirst && cp <= kHangulLast) {  // algorithmic Hangul decomposition
    const std::uint32_t s = cp - kHangulFirst;
    core::utf8_append(out, 0x1100 + s / 588);
    core::utf8_append(out, 0x1161 + (s % 588) / 28);
    if (s % 28 != 0) core::utf8_append(out, 0x11A7 + s % 28);
    return;
  }
  const NfdStripped* end = kNfdStripped + kNfdStrippedCount;
  const NfdStripped* it = std::lower_bound(kNfdStripped, end, cp, [](const NfdStripped& e, std::uint32_t c) {
    return e.code_point < c;
  });
  if (it == end || it->code_point != cp) {
    core::utf8_append(out, cp);
    return;
  }
  for (std::uint32_t base : it->base) {
    if (base != 0) core::utf8_append(out, base);
  }
}

// BERT uncased normalisation: drop control characters and U+FFFD, strip
// accents, lowercase.
std::string normalize_bert(std::string_view text, const RegexSplitter& unwanted) {
  static const std::locale utf8_locale = [] {
    try {
      return std::locale("C.UTF-8");
    } catch (const std::exception&) {
      return std::locale::classic();
    }
  }();
  const auto& ctype = std::use_facet<std::ctype<wchar_t>>(utf8_locale);
  std::string decomposed;
  decomposed.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) append_without_accents(decomposed, core::utf8_next(text, i));
  std::string lowered;
  lowered.reserve(decomposed.size());
  for (std::size_t i = 0; i < decomposed.size();) {
    core::utf8_append(lowered, static_cast<std::uint32_t>(ctype.tolower(static_cast<wchar_t>(core::utf8_next(decomposed, i)))));
  }
  return unwanted.erase_matches(lowered);
}

}  // namespace

void Tokenizer::Impl::build_wpm() {
  splitter = std::make_unique<RegexSplitter>(word_patterns(), /*keep_gaps=*/false);
  unwanted_chars = std::make_unique<RegexSplitter>(std::vector<std::string>{R"((?![\t\n\r])\p{C}|\p{Mn}|\x{FFFD})"});
  if (vocab.bos_id < 0) vocab.bos_id = vocab.cls_id;
  if (vocab.eos_id < 0) vocab.eos_id = vocab.sep_id;
}

void Tokenizer::Impl::encode_wpm(std::string_view raw, std::vector<std::int32_t>& out) const {
  const std::string text = normalize_bert(raw, *unwanted_chars);
  std::string word;
  for (std::string_view w : splitter->split(text)) {
    word = "\xE2\x96\x81";
    word += w;
    const std::size_t first_new = out.size();
    bool ok = w.size() <= kMaxWordChars * 4;
    for (std::size_t i = 0; ok && i < word.size();) {
      std::size_t j = std::min(word.size(), i + max_token_len);
      std::int32_t id = -1;
      for (; j > i; --j) {
        if ((id = find(std::string_view(word).substr(i, j - i))) >= 0) break;
      }
      if (id < 0) {
        ok = false;
        break;
      }
      out.push_back(id);
      i = j;
    }
    if (!ok) {
      out.resize(first_new);
      if (vocab.unk_id >= 0) out.push_back(vocab.unk_id);
    }
  }
}

}  // namespace cnai
