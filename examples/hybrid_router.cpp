// A host application with one Router in front of the local SmolLM2 and a
// cloud fallback (OpenAI's gpt-4o-mini when OPENAI_API_KEY is set). Without a
// key it still answers, locally. Every answer says which deployment served it.
// Usage: cnai_example_hybrid_router MODEL.gguf "question"     (router built in code)
//        cnai_example_hybrid_router --config router.yaml "question"
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "cnai/clients/openai_client.hpp"
#include "cnai/core/error.hpp"
#include "cnai/engine/local_engine.hpp"
#include "cnai/router/router.hpp"

namespace {

// ${VAR} in a config: this program's environment (the library reads none itself).
std::optional<std::string> environment(const std::string& var) {
  const char* v = std::getenv(var.c_str());
  return v ? std::optional<std::string>(v) : std::nullopt;
}

std::shared_ptr<cnai::Router> build_in_code(const std::string& model_path) {
  cnai::RouterSpec spec;
  spec.name = "hybrid";

  cnai::Deployment local;
  local.name = "local";
  cnai::LocalEngineOptions engine_options;
  engine_options.n_ctx = 2048;
  local.backend = cnai::LocalEngine::load(model_path, engine_options);
  local.limits.max_concurrency = 8;
  spec.deployments.push_back(local);

  cnai::AliasSpec chat;
  chat.name = "chat";
  cnai::OverflowOptions overflow;  // local until its queue is 4 deep, then the cloud
  overflow.max_queue_depth = 4;
  chat.group.policy = std::make_shared<cnai::OverflowPolicy>(overflow);
  chat.group.members.push_back({.deployment = "local"});

  cnai::OpenAiOptions cloud = cnai::OpenAiOptions::from_env();
  if (!cloud.api_key.empty()) {  // no key: no cloud deployment, local answers everything
    cnai::Deployment remote;
    remote.name = "gpt-4o-mini";
    remote.model = "gpt-4o-mini";
    remote.backend = std::make_shared<cnai::OpenAiClient>(cloud);
    remote.price = cnai::ModelPrice{.input_per_million = 0.15, .output_per_million = 0.60};
    remote.timeouts.first_token = std::chrono::seconds(10);
    spec.deployments.push_back(remote);
    chat.group.members.push_back({.deployment = "gpt-4o-mini"});
  }
  spec.aliases.push_back(chat);

  cnai::MetadataRule private_data;  // requests marked local-only never leave the machine
  private_data.match = {{"privacy", "local-only"}};
  private_data.action = cnai::MetadataRule::Action::local_only;
  spec.rules.push_back(private_data);
  return cnai::Router::create(std::move(spec));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.gguf \"question\"\n       %s --config router.yaml \"question\"\n", argv[0], argv[0]);
    return 2;
  }
  const std::string first = argv[1];
  const std::string question = argv[argc - 1];
  try {
    auto router = first == "--config" && argc >= 4 ? cnai::Router::from_config_file(argv[2], {.env = environment}) : build_in_code(first);
    cnai::ChatRequest request;
    request.model = "chat";  // an alias: the router picks the deployment
    request.messages.push_back(cnai::Message::system("You are a helpful assistant."));
    request.messages.push_back(cnai::Message::user(question));
    request.max_tokens = 64;
    request.sampling.temperature = 0.0f;
    cnai::ChatResponse answer = router->chat_stream(request, [](const cnai::ChatChunk& chunk) {
      std::fwrite(chunk.delta_content.data(), 1, chunk.delta_content.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    std::printf("\n");
    const cnai::RouteInfo& route = *answer.route;
    std::fprintf(stderr, "[served by %s after %zu attempt(s); $%.6f; router overhead %.1f us]\n", route.deployment.c_str(),
                 route.attempts.size(), answer.usage.cost_usd, route.router_overhead_us);
    for (const auto& a : route.attempts)
      if (!a.error_code.empty()) std::fprintf(stderr, "  %s failed: %s\n", a.deployment.c_str(), a.error.c_str());
  } catch (const cnai::Error& e) {
    std::fprintf(stderr, "error [%s]: %s\n", std::string(cnai::to_string(e.code())).c_str(), e.what());
    return 1;
  }
  return 0;
}
