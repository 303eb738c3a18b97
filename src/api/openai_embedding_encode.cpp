// EmbeddingResponse -> OpenAI Embeddings response body (for servers): float
// arrays in the shortest text that reads back to the same float, or base64
// of the little-endian floats, as encoding_format asks.
#include <boost/json.hpp>

#include <charconv>
#include <cmath>
#include <cstring>

#include "api/json_fields.hpp"
#include "cnai/api/json.hpp"
#include "cnai/core/error.hpp"

namespace cnai {
namespace {

void append_floats(std::string& out, const std::vector<float>& v) {
  out += '[';
  char buf[32];
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    if (!std::isfinite(v[i])) throw Error(ErrorCode::internal, "embedding holds a non-finite value");
    if (v[i] == 0.0f && std::signbit(v[i])) {
      out += "-0.0";  // "-0" would read back as the integer 0
      continue;
    }
    const auto r = std::to_chars(buf, buf + sizeof buf, v[i]);
    out.append(buf, r.ptr);
  }
  out += ']';
}

void append_base64(std::string& out, const std::vector<float>& v) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(v.size() * sizeof(float), '\0');
  if (!v.empty()) std::memcpy(bytes.data(), v.data(), bytes.size());  // little-endian host (x86-64, arm64)
  out += '"';
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t acc = 0;
    for (std::size_t j = 0; j < 3; ++j) acc = (acc << 8) | (j < n ? static_cast<unsigned char>(bytes[i + j]) : 0u);
    for (std::size_t j = 0; j < 4; ++j) out += j <= n ? kAlphabet[(acc >> (18 - 6 * j)) & 63] : '=';
  }
  out += '"';
}

}  // namespace

std::string to_openai_json(const EmbeddingResponse& r, std::string_view encoding_format) {
  const bool base64 = encoding_format == "base64";
  if (!base64 && encoding_format != "float")
    throw Error(ErrorCode::invalid_argument, "encoding_format must be \"float\" or \"base64\"");
  std::string out = R"({"object":"list","data":[)";
  for (std::size_t i = 0; i < r.data.size(); ++i) {
    if (i) out += ',';
    out += R"({"object":"embedding","index":)" + std::to_string(i) + R"(,"embedding":)";
    base64 ? append_base64(out, r.data[i]) : append_floats(out, r.data[i]);
    out += '}';
  }
  out += R"(],"model":)" + boost::json::serialize(boost::json::string(r.model));
  out += R"(,"usage":{"prompt_tokens":)" + std::to_string(r.usage.prompt_tokens) + R"(,"total_tokens":)" +
         std::to_string(r.usage.total_tokens) + "}}";
  return out;
}

}  // namespace cnai
