// Loading a TokenizerVocab from a GGUF file's `tokenizer.ggml.*` metadata.
#include <string>

#include "cnai/core/error.hpp"
#include "cnai/gguf/gguf.hpp"
#include "cnai/text/tokenizer.hpp"

namespace cnai {

namespace {

void read_id(const GgufReader& r, const char* key, std::int32_t& out) {
  if (const auto v = r.find_i32(std::string("tokenizer.ggml.") + key)) out = *v;
}

void read_flag(const GgufReader& r, const char* key, bool& out) {
  if (const auto v = r.find_bool(std::string("tokenizer.ggml.") + key)) out = *v;
}

}  // namespace

TokenizerVocab TokenizerVocab::from_gguf(const GgufReader& r) {
  TokenizerVocab v;
  v.model = r.get_string("tokenizer.ggml.model");
  if (auto pre = r.find_string("tokenizer.ggml.pre")) v.pre = *pre;
  v.tokens = r.get_string_array("tokenizer.ggml.tokens");
  if (r.has("tokenizer.ggml.scores")) v.scores = r.get_f32_array("tokenizer.ggml.scores");
  if (r.has("tokenizer.ggml.token_type")) v.token_types = r.get_i32_array("tokenizer.ggml.token_type");
  if (r.has("tokenizer.ggml.merges")) {
    v.merges = r.get_string_array("tokenizer.ggml.merges");
  } else if (v.model == "gpt2") {
    throw Error(ErrorCode::model_format, "tokenizer vocabulary: BPE model without tokenizer.ggml.merges");
  }
  if (v.model == "llama" && v.scores.empty()) {
    throw Error(ErrorCode::model_format, "tokenizer vocabulary: SentencePiece model without tokenizer.ggml.scores");
  }
  read_id(r, "bos_token_id", v.bos_id);
  read_id(r, "eos_token_id", v.eos_id);
  read_id(r, "eot_token_id", v.eot_id);
  read_id(r, "unknown_token_id", v.unk_id);
  read_id(r, "padding_token_id", v.pad_id);
  read_id(r, "seperator_token_id", v.sep_id);  // sic: the GGUF key is spelled this way
  read_id(r, "cls_token_id", v.cls_id);
  read_id(r, "mask_token_id", v.mask_id);
  // Defaults as llama.cpp: SentencePiece and BERT add BOS, BERT also EOS (SEP).
  v.add_bos = v.model != "gpt2";
  v.add_eos = v.model == "bert";
  v.add_space_prefix = v.model == "llama";
  read_flag(r, "add_bos_token", v.add_bos);
  read_flag(r, "add_eos_token", v.add_eos);
  read_flag(r, "add_space_prefix", v.add_space_prefix);
  v.model_name = r.find_string("general.name").value_or("");
  v.architecture = r.find_string("general.architecture").value_or("");
  return v;
}

Tokenizer Tokenizer::from_gguf(const GgufReader& reader) { return Tokenizer(TokenizerVocab::from_gguf(reader)); }

Tokenizer Tokenizer::from_gguf(const std::string& path) { return from_gguf(GgufReader::open(path)); }

}  // namespace cnai
