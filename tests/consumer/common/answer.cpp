// The consumer projects' application: loads the default model (or argv[1])
// and answers one question, as a host that found cnai by find_package,
// FetchContent, add_subdirectory or Conan would. run_answer.cmake checks it.
#include <cnai/cnai.hpp>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

int main(int argc, char** argv) {
  try {
    // The library reads no environment: the host passes its own to find the cache.
    auto env = [](const std::string& var) -> std::optional<std::string> {
      const char* v = std::getenv(var.c_str());
      return v ? std::optional<std::string>(v) : std::nullopt;
    };
    auto engine = cnai::LocalEngine::load(argc > 1 ? argv[1] : cnai::default_model_path(cnai::default_cache_dir(env)));
    cnai::ChatRequest req;
    req.messages = {cnai::Message::system("You are a helpful assistant."),
                    cnai::Message::user("What is the capital of France?")};
    req.sampling.temperature = 0.0f;
    req.max_tokens = 48;
    cnai::ChatResponse r = engine->chat(req);
    std::cout << r.choices.at(0).message.content << "\n[cnai " << CNAI_VERSION_STRING << ", "
              << r.usage.completion_tokens << " tokens]\n";
  } catch (const cnai::Error& e) {
    std::cerr << "cnai error (" << cnai::to_string(e.code()) << "): " << e.what() << "\n";
    return 1;
  }
}
