// libFuzzer target: the server-side request decoders (Chat Completions and
// Embeddings bodies) on arbitrary bytes. cnai::Error is fine, a crash is not;
// a body that decodes must re-encode to a fixed point (decode(encode(r))
// encodes the same), or the codecs disagree.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cnai/api/backend.hpp"
#include "cnai/api/json.hpp"
#include "cnai/core/error.hpp"

namespace {

void chat(std::string_view body) {
  const cnai::ChatRequest r = cnai::chat_request_from_openai_json(body);
  try {
    cnai::validate_chat_request(r);
  } catch (const cnai::Error&) {
  }
  const std::string once = cnai::to_openai_json(r);
  const std::string twice = cnai::to_openai_json(cnai::chat_request_from_openai_json(once));
  if (once != twice) __builtin_trap();
}

void embeddings(std::string_view body) {
  const cnai::EmbeddingRequest r = cnai::embedding_request_from_openai_json(body);
  const std::string once = cnai::to_openai_json(r);
  if (cnai::to_openai_json(cnai::embedding_request_from_openai_json(once)) != once) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    chat(body);
  } catch (const cnai::Error&) {
  }
  try {
    embeddings(body);
  } catch (const cnai::Error&) {
  }
  return 0;
}
