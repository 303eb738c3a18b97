// The loopback OpenAI-compatible upstream that bench_openai_client and
// bench_router call: the test HTTP server of tests/support answering
// /v1/chat/completions with one fixed reply, or 20 content chunks when the
// request asks to stream.
#pragma once

#include <string>

#include "support/test_http_server.hpp"

namespace cnai::bench {

/// The non-streamed reply, byte for byte (bench_openai_client checks its size).
inline const std::string kUpstreamReplyBody =
    R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hello! I am fine, thanks."},)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":8,"total_tokens":20}})";

/// The streamed reply: 20 content chunks, the finish chunk, a usage chunk, [DONE].
inline std::string upstream_sse_stream() {
  std::string s;
  for (int i = 0; i < 20; ++i) {
    s += R"(data: {"id":"c1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini",)"
         R"("choices":[{"index":0,"delta":{"content":"tok)" + std::to_string(i) + R"( "},"finish_reason":null}]})" +
         "\n\n";
  }
  s += R"(data: {"id":"c1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini",)"
       R"("choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})" "\n\n";
  s += R"(data: {"id":"c1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini",)"
       R"("choices":[],"usage":{"prompt_tokens":12,"completion_tokens":20,"total_tokens":32}})" "\n\n";
  s += "data: [DONE]\n\n";
  return s;
}

/// Started on first use and shared by every benchmark of the program.
inline cnai::test::TestHttpServer& upstream() {
  static cnai::test::TestHttpServer s;
  static const bool routed = [] {
    s.route("POST", "/v1/chat/completions", [](const cnai::test::TestRequest& r) {
      if (r.body.find("\"stream\":true") != std::string::npos)
        return cnai::test::TestResponse::sse({upstream_sse_stream()});
      return cnai::test::TestResponse::json(kUpstreamReplyBody);
    });
    return true;
  }();
  (void)routed;
  return s;
}

}  // namespace cnai::bench
