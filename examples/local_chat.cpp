// A host application chatting with a local GGUF model through the shared
// request types: one streamed answer, then a follow-up that reuses the cache.
// Usage: cnai_example_local_chat MODEL.gguf "question"
#include <cstdio>
#include <string>

#include "cnai/core/error.hpp"
#include "cnai/engine/local_engine.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.gguf \"question\"\n", argv[0]);
    return 2;
  }
  try {
    auto engine = cnai::LocalEngine::load(argv[1]);
    cnai::ChatRequest request;
    request.messages.push_back(cnai::Message::user(argv[2]));
    request.sampling.temperature = 0.0f;  // greedy
    request.max_tokens = 128;
    cnai::ChatResponse answer = engine->chat_stream(request, [](const cnai::ChatChunk& chunk) {
      std::fwrite(chunk.delta_content.data(), 1, chunk.delta_content.size(), stdout);
      std::fflush(stdout);
      return true;  // false would cancel
    });
    std::printf("\n");
    request.messages.push_back(answer.choices[0].message);
    request.messages.push_back(cnai::Message::user("Say that again in one short sentence."));
    cnai::ChatResponse again = engine->chat(request);
    std::printf("%s\n", again.choices[0].message.content.c_str());
    std::fprintf(stderr, "%lld prompt tokens (%lld from the cache), %.1f tokens/s\n",
                 static_cast<long long>(again.usage.prompt_tokens),
                 static_cast<long long>(again.usage.cached_prompt_tokens), again.timings.completion_tokens_per_s);
  } catch (const cnai::Error& e) {
    std::fprintf(stderr, "error: %s: %s\n", std::string(cnai::to_string(e.code())).c_str(), e.what());
    return 1;
  }
  return 0;
}
