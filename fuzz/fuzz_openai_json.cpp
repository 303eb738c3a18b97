// libFuzzer target: every upstream JSON decoder (OpenAI chat/chunk/embeddings/
// models/responses/errors, Anthropic response and stream events) on arbitrary
// bytes; the first byte picks the decoder. cnai::Error is fine, a crash is not.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "clients/anthropic_codec.hpp"
#include "clients/chat_stream_assembler.hpp"
#include "clients/responses_codec.hpp"
#include "clients/upstream_error.hpp"
#include "cnai/api/json.hpp"
#include "cnai/core/error.hpp"

namespace {

void decode(std::uint8_t which, std::string_view text) {
  switch (which % 9) {
    case 0: (void)cnai::chat_response_from_openai_json(text); break;
    case 1: {
      cnai::clients::ChatStreamAssembler a;
      a.add(cnai::chat_chunk_from_openai_json(text));
      (void)a.take();
      break;
    }
    case 2: (void)cnai::embedding_response_from_openai_json(text); break;
    case 3: (void)cnai::model_ids_from_openai_json(text); break;
    case 4: (void)cnai::upstream_error_from_json(text); break;
    case 5: (void)cnai::clients::chat_response_from_responses_json(text); break;
    case 6: (void)cnai::clients::chat_response_from_anthropic_json(text); break;
    case 7: (void)cnai::clients::in_band_error("fuzz", text); break;
    default: {
      // Several events through one decoder: "name\n{json}" pieces split by '\0'.
      cnai::clients::AnthropicStreamDecoder d;
      cnai::clients::ChatStreamAssembler a;
      std::size_t start = 0;
      while (start <= text.size()) {
        std::size_t end = text.find('\0', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view piece = text.substr(start, end - start);
        std::size_t nl = piece.find('\n');
        std::string_view name = nl == std::string_view::npos ? std::string_view("message") : piece.substr(0, nl);
        std::string_view data = nl == std::string_view::npos ? piece : piece.substr(nl + 1);
        if (auto c = d.on_event(name, data)) a.add(*c);
        start = end + 1;
      }
      (void)a.take();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    decode(data[0], text);
  } catch (const cnai::Error&) {
  }
  return 0;
}
