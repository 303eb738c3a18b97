// OpenAI Embeddings, Models and error bodies -> shared types.
#include <algorithm>
#include <cstring>

#include "api/json_fields.hpp"
#include "cnai/api/json.hpp"
#include "cnai/core/error.hpp"

namespace cnai {
namespace {

constexpr std::string_view kEmbeddingContext = "OpenAI embeddings response";

std::vector<float> decode_base64_floats(std::string_view text, const std::string& path) {
  auto value_of = [](char ch) -> int {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+' || ch == '-') return 62;
    if (ch == '/' || ch == '_') return 63;
    return -1;
  };
  std::vector<unsigned char> bytes;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char ch : text) {
    if (ch == '=') break;
    int v = value_of(ch);
    if (v < 0) throw Error(ErrorCode::upstream, std::string(kEmbeddingContext) + ": field '" + path + "' is not base64");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<unsigned char>((acc >> bits) & 0xFF));
    }
  }
  if (bytes.size() % 4 != 0) {
    throw Error(ErrorCode::upstream, std::string(kEmbeddingContext) + ": field '" + path + "' is not a whole number of floats");
  }
  std::vector<float> out(bytes.size() / 4);
  if (out.empty()) return out;  // memcpy from/to null is undefined even for 0 bytes
  std::memcpy(out.data(), bytes.data(), bytes.size());  // little-endian host assumed (x86-64, arm64)
  return out;
}

std::vector<float> read_embedding(const json::Fields& item) {
  const auto* v = item.raw("embedding");
  if (!v) item.fail("embedding", "is missing");
  if (v->is_string()) return decode_base64_floats(std::string_view(v->get_string()), item.path_of("embedding"));
  const auto* arr = item.array("embedding");
  std::vector<float> out;
  out.reserve(arr->size());
  for (std::size_t i = 0; i < arr->size(); ++i) {
    out.push_back(static_cast<float>(json::to_double((*arr)[i], item.path_of("embedding") + "[" + std::to_string(i) + "]", kEmbeddingContext)));
  }
  return out;
}

std::string shorten(std::string_view s) {
  constexpr std::size_t kMax = 300;
  return s.size() <= kMax ? std::string(s) : std::string(s.substr(0, kMax)) + "...";
}

std::string scalar_text(const boost::json::value* v) {
  if (!v) return {};
  if (v->is_string()) return std::string(v->get_string());
  return json::dump(*v);  // numeric codes and the like
}

}  // namespace

EmbeddingResponse embedding_response_from_openai_json(std::string_view body) {
  auto doc = json::parse(body, kEmbeddingContext);
  json::Fields root = json::Fields::root(doc, kEmbeddingContext);
  EmbeddingResponse r;
  r.model = root.str("model");
  const auto* data = root.array("data");
  if (!data) root.fail("data", "is missing");
  std::vector<std::pair<std::int64_t, std::vector<float>>> items;
  for (std::size_t i = 0; i < data->size(); ++i) {
    json::Fields item = root.element("data", *data, i);
    std::int64_t index = item.int64("index", static_cast<std::int64_t>(i));
    if (index < 0 || index >= static_cast<std::int64_t>(data->size())) item.fail("index", "is out of range");
    items.emplace_back(index, read_embedding(item));
  }
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [index, vec] : items) r.data.push_back(std::move(vec));
  if (auto u = root.object("usage")) {
    r.usage.prompt_tokens = u->count("prompt_tokens");
    r.usage.total_tokens = u->count("total_tokens", r.usage.prompt_tokens);
  }
  return r;
}

std::vector<std::string> model_ids_from_openai_json(std::string_view body) {
  constexpr std::string_view kContext = "OpenAI models response";
  auto doc = json::parse(body, kContext);
  json::Fields root = json::Fields::root(doc, kContext);
  const auto* data = root.array("data");
  if (!data) root.fail("data", "is missing");
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < data->size(); ++i) ids.push_back(root.element("data", *data, i).str("id"));
  return ids;
}

UpstreamErrorBody upstream_error_from_json(std::string_view body) noexcept {
  UpstreamErrorBody out;
  try {
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(boost::json::string_view(body.data(), body.size()), ec);
    const boost::json::object* root = ec ? nullptr : doc.if_object();
    const boost::json::value* err = root ? root->if_contains("error") : nullptr;
    if (err && err->is_object()) {
      const auto& e = err->get_object();
      out.message = scalar_text(e.if_contains("message"));
      out.type = scalar_text(e.if_contains("type"));
      out.code = scalar_text(e.if_contains("code"));
      out.param = scalar_text(e.if_contains("param"));
    } else if (err && err->is_string()) {
      out.message = std::string(err->get_string());  // {"error": "text"} (Ollama and others)
    } else if (root && root->if_contains("message")) {
      out.message = scalar_text(root->if_contains("message"));
    } else {
      out.message = shorten(body);
    }
    out.message = shorten(out.message);
  } catch (...) {
    out.message = "unreadable error body";
  }
  return out;
}

}  // namespace cnai
