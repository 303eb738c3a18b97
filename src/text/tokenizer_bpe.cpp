// Byte-level BPE (GGUF model "gpt2"): bytes map to GPT-2's printable alphabet,
// the regex pre-tokenizer cuts words, and merges apply by rank within a word.
#include <limits>
#include <string>

#include "cnai/core/error.hpp"
#include "text/tokenizer_internal.hpp"

namespace cnai {

using namespace text;

namespace {

std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
}

// Llama 3's tokenizer.json sets ignore_merges: a word that is a token is used whole.
bool uses_whole_word_tokens(std::string_view pre) {
  return pre == "llama-bpe" || pre == "llama3" || pre == "dbrx" || pre == "smaug-bpe";
}

}  // namespace

void Tokenizer::Impl::build_bpe() {
  merges.reserve(vocab.merges.size());
  for (std::size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    const std::string& m = vocab.merges[rank];
    const std::size_t space = m.find(' ', 1);  // the left part may itself be a space-like char
    if (space == std::string::npos || space + 1 >= m.size()) {
      throw Error(ErrorCode::model_format, "tokenizer vocabulary: merge " + std::to_string(rank) + " '" + m +
                                               "' is not two tokens separated by a space");
    }
    const std::string left = m.substr(0, space);
    const std::string right = m.substr(space + 1);
    const std::int32_t l = find(left);
    const std::int32_t r = find(right);
    const std::int32_t merged = find(left + right);
    if (l < 0 || r < 0 || merged < 0) {
      throw Error(ErrorCode::model_format, "tokenizer vocabulary: merge " + std::to_string(rank) + " '" + m +
                                               "' refers to a token that is not in the vocabulary");
    }
    merges.try_emplace(pair_key(l, r), Merge{static_cast<std::int32_t>(rank), merged});
  }
  const auto& alphabet = byte_to_unicode();
  for (std::size_t b = 0; b < 256; ++b) byte_token[b] = find(alphabet[b]);
  splitter = std::make_unique<RegexSplitter>(pretokenizer_patterns(vocab.pre));
}

namespace {

// Merges one word's symbols (token ids; -1 for a byte missing from the vocab)
// by rank: the best-ranked adjacent pair first, every occurrence left to right,
// which is what a leftmost-first priority queue would do.
void merge_by_rank(const std::unordered_map<std::uint64_t, Tokenizer::Impl::Merge>& merges,
                   std::vector<std::int32_t>& symbols) {
  while (symbols.size() > 1) {
    std::int32_t best_rank = std::numeric_limits<std::int32_t>::max();
    std::int32_t best_left = -1, best_right = -1, best_merged = -1;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
      if (symbols[i] < 0 || symbols[i + 1] < 0) continue;
      auto it = merges.find(pair_key(symbols[i], symbols[i + 1]));
      if (it != merges.end() && it->second.rank < best_rank) {
        best_rank = it->second.rank;
        best_left = symbols[i];
        best_right = symbols[i + 1];
        best_merged = it->second.merged;
      }
    }
    if (best_left < 0) return;
    std::size_t w = 0;
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      if (i + 1 < symbols.size() && symbols[i] == best_left && symbols[i + 1] == best_right) {
        symbols[w++] = best_merged;
        ++i;
      } else {
        symbols[w++] = symbols[i];
      }
    }
    symbols.resize(w);
  }
}

}  // namespace

void Tokenizer::Impl::encode_bpe(std::string_view text, std::vector<std::int32_t>& out) const {
  const auto& alphabet = byte_to_unicode();
  const bool whole_words = uses_whole_word_tokens(vocab.pre);
  std::string mapped;
  std::vector<std::int32_t> symbols;
  for (std::string_view word : splitter->split(text)) {
    if (whole_words) {
      mapped.clear();
      for (char c : word) mapped += alphabet[static_cast<unsigned char>(c)];
      if (std::int32_t id = find(mapped); id >= 0) {
        out.push_back(id);
        continue;
      }
    }
    symbols.clear();
    for (char c : word) symbols.push_back(byte_token[static_cast<unsigned char>(c)]);
    merge_by_rank(merges, symbols);
    for (std::int32_t id : symbols) {
      if (id >= 0) {
        out.push_back(id);
      } else if (vocab.unk_id >= 0) {
        out.push_back(vocab.unk_id);  // a byte missing from the vocab
      }
    }
  }
}

}  // namespace cnai
