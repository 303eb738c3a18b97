// Loading a TokenizerVocab from a GGUF file's `tokenizer.ggml.*` metadata.
// TEMPORARY: reads the metadata itself until GgufReader lands on this branch.
#include <cstring>
#include <map>
#include <string>
#include <variant>

#include "cnai/core/error.hpp"
#include "cnai/core/mapped_file.hpp"
#include "model/tokenizer_internal.hpp"

namespace cnai {

namespace {

[[noreturn]] void bad_file(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::model_format, "GGUF '" + path + "': " + what);
}

using Value = std::variant<std::int64_t, double, bool, std::string, std::vector<std::string>,
                           std::vector<double>, std::vector<std::int64_t>>;

class MetadataCursor {
 public:
  MetadataCursor(const MappedFile& file) : file_(file) {}

  template <typename T>
  T read() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, file_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string() {
    const auto n = read<std::uint64_t>();
    need(n);
    std::string s(reinterpret_cast<const char*>(file_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  Value read_value(std::uint32_t type) {
    switch (type) {
      case 0: return std::int64_t{read<std::uint8_t>()};
      case 1: return std::int64_t{read<std::int8_t>()};
      case 2: return std::int64_t{read<std::uint16_t>()};
      case 3: return std::int64_t{read<std::int16_t>()};
      case 4: return std::int64_t{read<std::uint32_t>()};
      case 5: return std::int64_t{read<std::int32_t>()};
      case 6: return double{read<float>()};
      case 7: return read<std::uint8_t>() != 0;
      case 8: return read_string();
      case 10: return static_cast<std::int64_t>(read<std::uint64_t>());
      case 11: return read<std::int64_t>();
      case 12: return read<double>();
      case 9: return read_array();
      default: bad_file(file_.path(), "unknown metadata type " + std::to_string(type));
    }
  }

 private:
  Value read_array() {
    const auto type = read<std::uint32_t>();
    const auto n = read<std::uint64_t>();
    if (n > file_.size()) bad_file(file_.path(), "array length " + std::to_string(n) + " exceeds the file");
    if (type == 8) {
      std::vector<std::string> v;
      v.reserve(n);
      for (std::uint64_t i = 0; i < n; ++i) v.push_back(read_string());
      return v;
    }
    if (type == 6 || type == 12) {
      std::vector<double> v;
      v.reserve(n);
      for (std::uint64_t i = 0; i < n; ++i) v.push_back(std::get<double>(read_value(type)));
      return v;
    }
    std::vector<std::int64_t> v;
    v.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
      Value x = read_value(type);
      if (auto* b = std::get_if<bool>(&x)) {
        v.push_back(*b);
      } else if (auto* k = std::get_if<std::int64_t>(&x)) {
        v.push_back(*k);
      } else {
        bad_file(file_.path(), "nested arrays are not supported");
      }
    }
    return v;
  }
  void need(std::uint64_t n) {
    if (n > file_.size() - pos_) bad_file(file_.path(), "metadata runs past the end of the file");
  }
  const MappedFile& file_;
  std::size_t pos_ = 0;
};

std::map<std::string, Value> read_metadata(const std::string& path) {
  MappedFile file(path);
  MetadataCursor cur(file);
  if (cur.read<std::uint32_t>() != 0x46554747u) bad_file(path, "not a GGUF file (bad magic)");
  const auto version = cur.read<std::uint32_t>();
  if (version < 2 || version > 3) bad_file(path, "unsupported GGUF version " + std::to_string(version));
  cur.read<std::uint64_t>();  // tensor count
  const auto n_kv = cur.read<std::uint64_t>();
  std::map<std::string, Value> kv;
  for (std::uint64_t i = 0; i < n_kv; ++i) {
    std::string key = cur.read_string();
    const auto type = cur.read<std::uint32_t>();
    kv[std::move(key)] = cur.read_value(type);
  }
  return kv;
}

template <typename T>
const T* get(const std::map<std::string, Value>& kv, const std::string& key, const std::string& path) {
  auto it = kv.find(key);
  if (it == kv.end()) return nullptr;
  const T* v = std::get_if<T>(&it->second);
  if (v == nullptr) bad_file(path, "metadata '" + key + "' has the wrong type");
  return v;
}

}  // namespace

namespace tokenizer_detail {

TokenizerVocab read_tokenizer_vocab_file(const std::string& path) {
  const auto kv = read_metadata(path);
  TokenizerVocab v;
  const auto* model = get<std::string>(kv, "tokenizer.ggml.model", path);
  if (model == nullptr) bad_file(path, "missing tokenizer.ggml.model");
  v.model = *model;
  if (const auto* pre = get<std::string>(kv, "tokenizer.ggml.pre", path)) v.pre = *pre;
  const auto* tokens = get<std::vector<std::string>>(kv, "tokenizer.ggml.tokens", path);
  if (tokens == nullptr) bad_file(path, "missing tokenizer.ggml.tokens");
  v.tokens = *tokens;
  if (const auto* s = get<std::vector<double>>(kv, "tokenizer.ggml.scores", path)) {
    v.scores.assign(s->begin(), s->end());
  }
  if (const auto* t = get<std::vector<std::int64_t>>(kv, "tokenizer.ggml.token_type", path)) {
    v.token_types.assign(t->begin(), t->end());
  }
  if (const auto* m = get<std::vector<std::string>>(kv, "tokenizer.ggml.merges", path)) v.merges = *m;
  const auto id = [&](const char* key, std::int32_t& out) {
    if (const auto* x = get<std::int64_t>(kv, std::string("tokenizer.ggml.") + key, path)) {
      out = static_cast<std::int32_t>(*x);
    }
  };
  id("bos_token_id", v.bos_id);
  id("eos_token_id", v.eos_id);
  id("eot_token_id", v.eot_id);
  id("unknown_token_id", v.unk_id);
  id("padding_token_id", v.pad_id);
  id("seperator_token_id", v.sep_id);
  id("cls_token_id", v.cls_id);
  id("mask_token_id", v.mask_id);
  v.add_bos = v.model != "gpt2";
  v.add_eos = v.model == "bert";
  v.add_space_prefix = v.model == "llama";
  if (const auto* b = get<bool>(kv, "tokenizer.ggml.add_bos_token", path)) v.add_bos = *b;
  if (const auto* b = get<bool>(kv, "tokenizer.ggml.add_eos_token", path)) v.add_eos = *b;
  if (const auto* b = get<bool>(kv, "tokenizer.ggml.add_space_prefix", path)) v.add_space_prefix = *b;
  return v;
}

}  // namespace tokenizer_detail

Tokenizer Tokenizer::from_gguf(const std::string& path) {
  return Tokenizer(tokenizer_detail::read_tokenizer_vocab_file(path));
}

}  // namespace cnai
