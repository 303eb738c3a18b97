// Regex pre-tokenization with PCRE2 (UTF + UCP, JIT when available), and the
// regex lists that llama.cpp and Hugging Face use for each `tokenizer.ggml.pre`.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string>
#include <vector>

#include "cnai/core/error.hpp"
#include "text/tokenizer_internal.hpp"

namespace cnai::text {

namespace {

// GPT-2's pattern: contractions, letters, numbers, other symbols, spaces.
constexpr const char* kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// llama.cpp drops the final "|\s+"; gaps between matches are kept anyway.
constexpr const char* kGpt2NoTail =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
// Llama 3: case-insensitive contractions, numbers in groups of up to three.
constexpr const char* kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen2 / StableLM2: like Llama 3 with single digits.
constexpr const char* kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// o200k (GPT-4o and friends): case-aware word pieces, numbers in threes.
constexpr const char* kO200k =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Mistral's tekken: like o200k without contractions, single digits.
constexpr const char* kTekken =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+)"
    R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*)"
    R"(|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kDeepseekV3Words =
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+)"
    R"(| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kCjk = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";
constexpr const char* kDeepseekLlmLetters =
    "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af"
    "\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5"
    "\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba"
    "\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45"
    "\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe"
    "\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc"
    "\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139"
    "\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3"
    "\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06"
    "\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3"
    "\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df"
    "\U0001e900-\U0001e943]+";
constexpr const char* kDeepseekLlmPunct = "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+";

}  // namespace

std::vector<std::string> pretokenizer_patterns(std::string_view pre) {
  if (pre == "gpt-2" || pre == "gpt2" || pre == "mpt" || pre == "olmo" || pre == "jais") return {kGpt2};
  if (pre == "llama-bpe" || pre == "llama3" || pre == "dbrx" || pre == "smaug-bpe") return {kLlama3};
  if (pre == "qwen2" || pre == "stablelm2" || pre == "poro-chat") return {kQwen2};
  if (pre == "starcoder" || pre == "refact" || pre == "smollm" || pre == "command-r" ||
      pre == "codeshell" || pre == "exaone" || pre == "minerva-7b") {
    return {R"(\p{N})", kGpt2};
  }
  if (pre == "falcon") return {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2NoTail, "[0-9][0-9][0-9]"};
  if (pre == "deepseek-coder") {
    return {"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kCjk, R"(\p{N})"};
  }
  if (pre == "deepseek-llm") {
    return {"[\r\n]", kDeepseekLlmLetters, kDeepseekLlmPunct, R"(\s+$)", kCjk, R"(\p{N}+)"};
  }
  if (pre == "gpt-4o" || pre == "minimax-m2") return {kO200k};
  if (pre == "tekken") return {kTekken};
  if (pre == "deepseek-v3") return {R"(\p{N}{1,3})", "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+", kDeepseekV3Words};
  if (pre == "default" || pre.empty()) {
    return {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2NoTail, R"(\p{N}+)", "[0-9][0-9][0-9]"};
  }
  throw Error(ErrorCode::unsupported, "tokenizer: unknown pre-tokenizer '" + std::string(pre) + "'");
}

struct RegexSplitter::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

RegexSplitter::RegexSplitter(const std::vector<std::string>& patterns, bool keep_gaps) : keep_gaps_(keep_gaps) {
  for (const auto& pattern : patterns) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    auto compiled = std::make_unique<Compiled>();
    compiled->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
    if (compiled->code == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof(message));
      throw Error(ErrorCode::internal, "tokenizer: bad pre-tokenizer regex at offset " +
                                           std::to_string(offset) + ": " +
                                           reinterpret_cast<const char*>(message));
    }
    pcre2_jit_compile(compiled->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter
    compiled_.push_back(std::move(compiled));
  }
}

RegexSplitter::~RegexSplitter() = default;

namespace {

struct MatchData {
  pcre2_match_data* data;
  explicit MatchData(const pcre2_code* code) : data(pcre2_match_data_create_from_pattern(code, nullptr)) {}
  ~MatchData() { pcre2_match_data_free(data); }
};

// False when there is no further match. A JIT stack overflow retries in the
// interpreter; any other matcher failure is an error, never a silent mis-split.
bool find_match(const pcre2_code* code, PCRE2_SPTR subject, std::size_t size, std::size_t pos,
                pcre2_match_data* match) {
  int rc = pcre2_match(code, subject, size, pos, PCRE2_NO_UTF_CHECK, match, nullptr);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
    rc = pcre2_match(code, subject, size, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, match, nullptr);
  }
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(rc, message, sizeof(message));
    throw Error(ErrorCode::internal, std::string("tokenizer: pre-tokenizer regex failed: ") +
                                         reinterpret_cast<const char*>(message));
  }
  return true;
}

// Splits one fragment into matches and in-between gaps.
void split_fragment(const pcre2_code* code, pcre2_match_data* match, std::string_view frag, bool keep_gaps,
                    std::vector<std::string_view>& out) {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(frag.data());
  std::size_t pos = 0;
  while (pos < frag.size()) {
    if (!find_match(code, subject, frag.size(), pos, match)) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match);
    std::size_t start = ov[0];
    std::size_t end = ov[1];
    if (start > pos && keep_gaps) out.push_back(frag.substr(pos, start - pos));
    if (end == start) {  // empty match: step over one character
      std::size_t next = start;
      core::utf8_next(frag, next);
      if (next > frag.size()) next = frag.size();
      out.push_back(frag.substr(start, next - start));
      end = next;
    } else {
      out.push_back(frag.substr(start, end - start));
    }
    pos = end;
  }
  if (pos < frag.size() && keep_gaps) out.push_back(frag.substr(pos));
}

}  // namespace

std::vector<std::string_view> RegexSplitter::split(std::string_view text) const {
  std::vector<std::string_view> current{text};
  std::vector<std::string_view> next;
  for (const auto& compiled : compiled_) {
    MatchData match(compiled->code);
    next.clear();
    for (auto frag : current) split_fragment(compiled->code, match.data, frag, keep_gaps_, next);
    current.swap(next);
  }
  return current;
}

std::string RegexSplitter::erase_matches(std::string_view text) const {
  std::string out;
  if (compiled_.empty()) return std::string(text);
  const pcre2_code* code = compiled_.front()->code;
  MatchData match(code);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!find_match(code, subject, text.size(), pos, match.data)) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match.data);
    if (ov[1] == ov[0]) break;  // an empty match erases nothing; keep the rest
    out.append(text.substr(pos, ov[0] - pos));
    pos = ov[1];
  }
  if (pos < text.size()) out.append(text.substr(pos));
  return out;
}

}  // namespace cnai::text
