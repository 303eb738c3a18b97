// Tokenizer: validates a TokenizerVocab, builds the lookup tables, and runs
// encoding (special-token partition, then the model's own segmentation).
#include "cnai/text/tokenizer.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "cnai/core/error.hpp"
#include "text/tokenizer_internal.hpp"

namespace cnai {

using text::ModelKind;

namespace {

[[noreturn]] void bad_vocab(const std::string& what) {
  throw Error(ErrorCode::model_format, "tokenizer vocabulary: " + what);
}

void check_special_id(std::int32_t id, const char* name, std::size_t n_vocab) {
  if (id < -1 || id >= static_cast<std::int64_t>(n_vocab)) {
    bad_vocab(std::string(name) + " id " + std::to_string(id) + " is outside the vocabulary of " +
              std::to_string(n_vocab));
  }
}

void validate_shape(const TokenizerVocab& v) {
  if (v.tokens.empty()) bad_vocab("the token list is missing or empty");
  if (!v.scores.empty() && v.scores.size() != v.tokens.size()) {
    bad_vocab("scores has " + std::to_string(v.scores.size()) + " entries but there are " +
              std::to_string(v.tokens.size()) + " tokens");
  }
  if (!v.token_types.empty() && v.token_types.size() != v.tokens.size()) {
    bad_vocab("token_type has " + std::to_string(v.token_types.size()) + " entries but there are " +
              std::to_string(v.tokens.size()) + " tokens");
  }
  for (std::int32_t t : v.token_types) {
    if (t < 0 || t > 6) bad_vocab("unknown token type " + std::to_string(t));
  }
  const std::size_t n = v.tokens.size();
  check_special_id(v.bos_id, "bos", n);
  check_special_id(v.eos_id, "eos", n);
  check_special_id(v.eot_id, "eot", n);
  check_special_id(v.unk_id, "unk", n);
  check_special_id(v.pad_id, "pad", n);
  check_special_id(v.sep_id, "sep", n);
  check_special_id(v.cls_id, "cls", n);
  check_special_id(v.mask_id, "mask", n);
}

bool is_end_marker(std::string_view text) {
  static constexpr std::string_view kEnds[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
                                               "<|endoftext|>", "<|eom_id|>", "</s>", "<EOT>"};
  return std::find(std::begin(kEnds), std::end(kEnds), text) != std::end(kEnds);
}

bool contains_any(std::string haystack, std::initializer_list<const char*> needles) {
  std::transform(haystack.begin(), haystack.end(), haystack.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::any_of(needles.begin(), needles.end(),
                     [&](const char* n) { return haystack.find(n) != std::string::npos; });
}

// Hugging Face's lstrip/rstrip of added tokens, which GGUF does not carry:
// the models known to need them, by name (the same list llama.cpp keeps).
void set_strip_attributes(Tokenizer::Impl& im) {
  const TokenizerVocab& v = im.vocab;
  auto add = [&](std::vector<std::int32_t>& ids, const char* text) {
    if (const std::int32_t id = im.find(text); id >= 0) ids.push_back(id);
  };
  if (contains_any(v.pre, {"jina-v2-de", "jina-v2-es", "jina-v2-code"}) ||
      contains_any(v.architecture, {"nomic-bert-moe", "jina-bert-v3"})) {
    add(im.lstrip_ids, "<mask>");
  } else if (contains_any(v.model_name, {"phi-3", "phi3"})) {
    im.rstrip_ids = im.special_order;
    add(im.rstrip_ids, "</s>");
    for (const char* keep : {"<unk>", "<s>", "<|endoftext|>"}) std::erase(im.rstrip_ids, im.find(keep));
  } else if (contains_any(v.model_name, {"modern-bert"})) {
    add(im.lstrip_ids, "[MASK]");
  }
}

}  // namespace

Tokenizer::Tokenizer(TokenizerVocab vocab) : impl_(std::make_unique<Impl>()) {
  Impl& im = *impl_;
  validate_shape(vocab);
  im.vocab = std::move(vocab);
  TokenizerVocab& v = im.vocab;
  if (v.model == "gpt2") {
    im.kind = ModelKind::bpe;
  } else if (v.model == "llama") {
    im.kind = ModelKind::spm;
  } else if (v.model == "bert") {
    im.kind = ModelKind::wpm;
  } else {
    throw Error(ErrorCode::unsupported, "tokenizer: unsupported tokenizer model '" + v.model + "'");
  }
  im.token_to_id.reserve(v.tokens.size());
  for (std::size_t i = 0; i < v.tokens.size(); ++i) {
    im.token_to_id.emplace(v.tokens[i], static_cast<std::int32_t>(i));  // first wins on duplicates
    im.max_token_len = std::max(im.max_token_len, v.tokens[i].size());
  }
  im.byte_token.fill(-1);
  switch (im.kind) {
    case ModelKind::bpe: im.build_bpe(); break;
    case ModelKind::spm: im.build_spm(); break;
    case ModelKind::wpm: im.build_wpm(); break;
  }
  im.build_pieces();
  for (std::size_t i = 0; i < v.tokens.size(); ++i) {
    const auto id = static_cast<std::int32_t>(i);
    const TokenType t = im.type_of(id);
    if ((t == TokenType::control || t == TokenType::user_defined || t == TokenType::unknown) &&
        !v.tokens[i].empty()) {
      im.special_order.push_back(id);
    }
    if (t == TokenType::control && is_end_marker(v.tokens[i])) im.eog_ids.push_back(id);
  }
  std::stable_sort(im.special_order.begin(), im.special_order.end(), [&](std::int32_t a, std::int32_t b) {
    return v.tokens[static_cast<std::size_t>(a)].size() > v.tokens[static_cast<std::size_t>(b)].size();
  });
  for (std::int32_t id : im.special_order) {
    im.special_by_first_byte[static_cast<unsigned char>(v.tokens[static_cast<std::size_t>(id)][0])].push_back(id);
  }
  for (std::int32_t id : {v.eos_id, v.eot_id}) {
    if (id >= 0 && std::find(im.eog_ids.begin(), im.eog_ids.end(), id) == im.eog_ids.end()) {
      im.eog_ids.push_back(id);
    }
  }
  set_strip_attributes(im);
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

namespace {

// The whitespace stripped beside special tokens (C isspace, as llama.cpp).
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// A run of the input: either plain text or an already-known special token.
struct Segment {
  std::string_view text;
  std::int32_t token = -1;
};

// Cuts out special-token text. User-defined tokens always match (as Hugging
// Face's added tokens do); control and unknown tokens only with parse_special.
std::vector<Segment> partition_specials(const Tokenizer::Impl& im, std::string_view text, bool parse_special) {
  std::vector<Segment> segments;
  std::size_t plain_start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int32_t hit = -1;
    for (std::int32_t id : im.special_by_first_byte[static_cast<unsigned char>(text[i])]) {
      const std::string& s = im.vocab.tokens[static_cast<std::size_t>(id)];
      if (!parse_special && im.type_of(id) != TokenType::user_defined) continue;
      if (text.compare(i, s.size(), s) == 0) {
        hit = id;
        break;
      }
    }
    if (hit < 0) {
      ++i;
      continue;
    }
    auto has = [hit](const std::vector<std::int32_t>& ids) { return std::find(ids.begin(), ids.end(), hit) != ids.end(); };
    std::size_t plain_end = i;
    if (has(im.lstrip_ids))
      while (plain_end > plain_start && is_space(text[plain_end - 1])) --plain_end;
    if (plain_end > plain_start) segments.push_back({text.substr(plain_start, plain_end - plain_start), -1});
    segments.push_back({{}, hit});
    i += im.vocab.tokens[static_cast<std::size_t>(hit)].size();
    if (has(im.rstrip_ids))
      while (i < text.size() && is_space(text[i])) ++i;
    plain_start = i;
  }
  if (plain_start < text.size()) segments.push_back({text.substr(plain_start), -1});
  return segments;
}

}  // namespace

std::vector<std::int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  const Impl& im = *impl_;
  const std::string clean = core::sanitize_utf8(text);
  std::vector<std::int32_t> out;
  out.reserve(clean.size() / 3 + 4);
  if (options.add_special && im.vocab.add_bos && im.vocab.bos_id >= 0) out.push_back(im.vocab.bos_id);
  bool after_special = true;  // SentencePiece adds its space prefix at the start and after specials
  for (const Segment& seg : partition_specials(im, clean, options.parse_special)) {
    if (seg.token >= 0) {
      out.push_back(seg.token);
      after_special = true;
      continue;
    }
    switch (im.kind) {
      case ModelKind::bpe: im.encode_bpe(seg.text, out); break;
      case ModelKind::spm: im.encode_spm(seg.text, im.vocab.add_space_prefix && after_special, out); break;
      case ModelKind::wpm: im.encode_wpm(seg.text, out); break;
    }
    after_special = false;
  }
  if (options.add_special && im.vocab.add_eos && im.vocab.eos_id >= 0) out.push_back(im.vocab.eos_id);
  return out;
}

std::int32_t Tokenizer::vocab_size() const { return static_cast<std::int32_t>(impl_->vocab.tokens.size()); }
std::int32_t Tokenizer::bos() const { return impl_->vocab.bos_id; }
std::int32_t Tokenizer::eos() const { return impl_->vocab.eos_id; }
std::int32_t Tokenizer::eot() const { return impl_->vocab.eot_id; }
std::int32_t Tokenizer::unk() const { return impl_->vocab.unk_id; }
std::int32_t Tokenizer::pad() const { return impl_->vocab.pad_id; }
const TokenizerVocab& Tokenizer::vocab() const { return impl_->vocab; }

bool Tokenizer::is_eog(std::int32_t id) const {
  return id >= 0 && std::find(impl_->eog_ids.begin(), impl_->eog_ids.end(), id) != impl_->eog_ids.end();
}

TokenType Tokenizer::token_type(std::int32_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw Error(ErrorCode::invalid_argument, "tokenizer: token id " + std::to_string(id) +
                                                 " is outside the vocabulary of " + std::to_string(vocab_size()));
  }
  return impl_->type_of(id);
}

}  // namespace cnai
