// Cost of the OpenAI codecs at the client edge: encoding a request, decoding
// a response, and decoding + assembling a streamed chunk.
#include <benchmark/benchmark.h>

#include <string>

#include "clients/chat_stream_assembler.hpp"
#include "cnai/api/json.hpp"

namespace {

cnai::ChatRequest make_request() {
  cnai::ChatRequest r;
  r.model = "gpt-4o-mini";
  for (int i = 0; i < 8; ++i) {
    cnai::Message m;
    m.role = i % 2 ? cnai::Role::assistant : cnai::Role::user;
    m.content = std::string(200, 'a' + static_cast<char>(i));
    r.messages.push_back(m);
  }
  r.tools.push_back({"function", "get_weather", "Weather", R"({"type":"object","properties":{"city":{"type":"string"}}})"});
  r.max_tokens = 256;
  return r;
}

void BM_EncodeChatRequest(benchmark::State& state) {
  auto r = make_request();
  for (auto _ : state) benchmark::DoNotOptimize(cnai::to_openai_json(r));
}
BENCHMARK(BM_EncodeChatRequest);

void BM_DecodeChatResponse(benchmark::State& state) {
  std::string body = R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",
    "choices":[{"index":0,"message":{"role":"assistant","content":")" + std::string(1000, 'x') + R"("},"finish_reason":"stop"}],
    "usage":{"prompt_tokens":100,"completion_tokens":20,"total_tokens":120}})";
  for (auto _ : state) benchmark::DoNotOptimize(cnai::chat_response_from_openai_json(body));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_DecodeChatResponse);

void BM_DecodeAndAssembleChunk(benchmark::State& state) {
  const std::string chunk =
      R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" token"},"finish_reason":null}]})";
  cnai::clients::ChatStreamAssembler a;
  for (auto _ : state) a.add(cnai::chat_chunk_from_openai_json(chunk));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeAndAssembleChunk);

}  // namespace

BENCHMARK_MAIN();
