// A host that wants only the cloud clients: links cnai::cloud (no local
// runtime, no PCRE2) and makes one call, to a port where nothing listens.
#include <cstdio>

#include "cnai/clients/openai_client.hpp"
#include "cnai/version.hpp"

int main() {
  cnai::OpenAiOptions options;
  options.base_url = "http://127.0.0.1:1/v1";  // refused at once
  options.common.retries.max_retries = 0;
  cnai::OpenAiClient client(options);
  cnai::ChatRequest request;
  request.model = "gpt-4o-mini";
  request.messages = {cnai::Message::user("hello")};
  try {
    client.chat(request);
  } catch (const cnai::Error& e) {
    if (e.code() != cnai::ErrorCode::unavailable) {
      std::fprintf(stderr, "expected unavailable, got %s\n", e.what());
      return 1;
    }
    std::printf("cnai %s cloud-only consumer: OK (%s)\n", CNAI_VERSION_STRING, e.what());
    return 0;
  }
  std::fprintf(stderr, "expected an error from a refused connection\n");
  return 1;
}
