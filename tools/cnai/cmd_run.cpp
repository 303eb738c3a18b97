// `cnai run`: one chat turn. With --provider it calls a cloud API (OpenAI,
// Azure OpenAI, Anthropic, or any OpenAI-compatible server via --base-url);
// without it, the local engine on a GGUF model (the default model unless -m).
#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <functional>

#include "cli.hpp"
#include "cnai/api/json.hpp"
#include "cnai/clients/anthropic_client.hpp"
#include "cnai/clients/openai_client.hpp"
#include "cnai/core/error.hpp"
#include "cnai/engine/local_engine.hpp"
#include "local_options.hpp"

namespace {

using cnai::cli::Args;

constexpr const char* kUsage =
    "usage: cnai run [-m MODEL] -p TEXT [options]          (local model)\n"
    "       cnai run --provider openai|azure|anthropic --model NAME -p TEXT [--system S]\n"
    "                [--base-url URL] [--max-tokens N] [--temperature T] [--json] [--no-stream]\n"
    "                [--api-key-env VAR] [--deployment NAME] [--max-retries N]\n"
    "  --json              print one JSON object (text, token ids, finish reason, usage, timings)\n"
    "  --no-stream         print the answer when it is complete\n"
    "local options:\n";

cnai::ChatRequest request_from(const Args& args) {
  cnai::ChatRequest r;
  r.model = args.get_or("--model", "");
  auto prompt = args.get("-p");
  if (!prompt) prompt = args.get("--prompt");
  if (!prompt) throw cnai::Error(cnai::ErrorCode::invalid_argument, "missing -p TEXT (the prompt)");
  if (auto system = args.get("--system")) r.messages.push_back(cnai::Message::system(*system));
  r.messages.push_back(cnai::Message::user(*prompt));
  if (args.has("--max-tokens")) r.max_tokens = static_cast<int>(args.get_int("--max-tokens", 0));
  if (args.has("--temperature")) r.sampling.temperature = static_cast<float>(args.get_double("--temperature", 0));
  return r;
}

std::string api_key_from(const Args& args, const char* default_env) {
  std::string var = args.get_or("--api-key-env", default_env);
  const char* v = std::getenv(var.c_str());
  return v ? std::string(v) : std::string();
}

using ChatFn = std::function<cnai::ChatResponse(const cnai::ChatRequest&)>;
using StreamFn = std::function<cnai::ChatResponse(const cnai::ChatRequest&, const cnai::ChunkCallback&)>;

struct CloudBackend {
  ChatFn chat;
  StreamFn stream;
  std::shared_ptr<void> owner;  // keeps the client alive
};

cnai::ClientCommonOptions common_from(const Args& args) {
  cnai::ClientCommonOptions c;
  c.retries.max_retries = static_cast<int>(args.get_int("--max-retries", c.retries.max_retries));
  return c;
}

CloudBackend make_backend(const std::string& provider, const Args& args, const cnai::ChatRequest& request) {
  if (provider == "openai" || provider == "azure") {
    cnai::OpenAiOptions o = provider == "azure" ? cnai::OpenAiOptions::azure_from_env(args.get_or("--deployment", request.model))
                                                : cnai::OpenAiOptions::from_env();
    if (auto url = args.get("--base-url")) o.base_url = *url;
    if (args.has("--api-key-env") || o.api_key.empty()) {
      o.api_key = api_key_from(args, provider == "azure" ? "AZURE_OPENAI_API_KEY" : "OPENAI_API_KEY");
    }
    if (o.api_key.empty() && !args.has("--base-url")) {
      throw cnai::Error(cnai::ErrorCode::unauthorized, "no API key: set " +
                                                           args.get_or("--api-key-env", provider == "azure" ? "AZURE_OPENAI_API_KEY" : "OPENAI_API_KEY"));
    }
    o.common = common_from(args);
    auto client = std::make_shared<cnai::OpenAiClient>(o);
    return {[client](const cnai::ChatRequest& r) { return client->chat(r); },
            [client](const cnai::ChatRequest& r, const cnai::ChunkCallback& cb) { return client->chat_stream(r, cb); },
            client};
  }
  if (provider == "anthropic") {
    cnai::AnthropicOptions o = cnai::AnthropicOptions::from_env();
    if (auto url = args.get("--base-url")) o.base_url = *url;
    if (args.has("--api-key-env") || o.api_key.empty()) o.api_key = api_key_from(args, "ANTHROPIC_API_KEY");
    if (o.api_key.empty() && !args.has("--base-url")) {
      throw cnai::Error(cnai::ErrorCode::unauthorized, "no API key: set " + args.get_or("--api-key-env", "ANTHROPIC_API_KEY"));
    }
    o.common = common_from(args);
    auto client = std::make_shared<cnai::AnthropicClient>(o);
    return {[client](const cnai::ChatRequest& r) { return client->chat(r); },
            [client](const cnai::ChatRequest& r, const cnai::ChunkCallback& cb) { return client->chat_stream(r, cb); },
            client};
  }
  throw cnai::Error(cnai::ErrorCode::invalid_argument,
                    "unknown --provider '" + provider + "' (expected openai, azure or anthropic)");
}

void print_summary(const cnai::ChatResponse& r) {
  std::fprintf(stderr, "[%s %s] %lld prompt + %lld completion tokens, $%.6f, %.0f ms\n", r.backend.c_str(),
               r.model.c_str(), static_cast<long long>(r.usage.prompt_tokens),
               static_cast<long long>(r.usage.completion_tokens), r.usage.cost_usd, r.timings.total_ms);
}

int run_cloud(const Args& args) {
  cnai::ChatRequest request = request_from(args);
  cnai::cli::apply_request_flags(args, request);
  if (request.model.empty()) throw cnai::Error(cnai::ErrorCode::invalid_argument, "missing --model NAME");
  CloudBackend backend = make_backend(*args.get("--provider"), args, request);
  bool stream = !args.has("--no-stream") && !args.has("--json");
  cnai::ChatResponse response;
  if (stream) {
    response = backend.stream(request, [](const cnai::ChatChunk& c) {
      std::fwrite(c.delta_content.data(), 1, c.delta_content.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    std::printf("\n");
  } else {
    response = backend.chat(request);
  }
  if (args.has("--json")) {
    std::printf("%s\n", cnai::to_openai_json(response).c_str());
    return 0;
  }
  if (!stream && !response.choices.empty()) std::printf("%s\n", response.choices[0].message.content.c_str());
  for (const auto& c : response.choices) {
    for (const auto& call : c.message.tool_calls) std::printf("[tool call %s(%s)]\n", call.name.c_str(), call.arguments.c_str());
  }
  print_summary(response);
  return 0;
}

boost::json::object local_json(const cnai::ChatResponse& r) {
  const cnai::Choice& c = r.choices.at(0);
  boost::json::array ids;
  for (auto id : c.token_ids) ids.push_back(id);
  return {
      {"model", r.model},
      {"backend", r.backend},
      {"text", c.message.content},
      {"token_ids", std::move(ids)},
      {"finish_reason", std::string(cnai::to_string(c.finish_reason))},
      {"usage",
       {{"prompt_tokens", r.usage.prompt_tokens},
        {"completion_tokens", r.usage.completion_tokens},
        {"total_tokens", r.usage.total_tokens},
        {"cached_prompt_tokens", r.usage.cached_prompt_tokens}}},
      {"timings",
       {{"time_to_first_token_ms", r.timings.time_to_first_token_ms},
        {"total_ms", r.timings.total_ms},
        {"prompt_tokens_per_s", r.timings.prompt_tokens_per_s},
        {"completion_tokens_per_s", r.timings.completion_tokens_per_s}}},
  };
}

int run_local(const Args& args) {
  cnai::ChatRequest request = request_from(args);
  cnai::cli::apply_request_flags(args, request);
  auto engine = cnai::LocalEngine::load(cnai::cli::model_path(args), cnai::cli::engine_options_from(args));
  const bool stream = !args.has("--no-stream") && !args.has("--json");
  cnai::ChatResponse response;
  if (stream) {
    response = engine->chat_stream(request, [](const cnai::ChatChunk& c) {
      std::fwrite(c.delta_content.data(), 1, c.delta_content.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    std::printf("\n");
  } else {
    response = engine->chat(request);
  }
  if (args.has("--json")) {
    std::printf("%s\n", boost::json::serialize(local_json(response)).c_str());
  } else if (!stream) {
    std::printf("%s\n", response.choices.at(0).message.content.c_str());
  }
  std::fflush(stdout);
  std::fputs(cnai::cli::timing_line(response).c_str(), stderr);
  return 0;
}

int run_command(const std::vector<std::string>& argv) {
  std::vector<std::string> flags = {"--json", "--no-stream", "-h", "--help"};
  flags.insert(flags.end(), cnai::cli::kLocalFlagNames.begin(), cnai::cli::kLocalFlagNames.end());
  Args args(argv, flags);
  if (args.has("-h") || args.has("--help")) {
    std::fprintf(stdout, "%s%s", kUsage, cnai::cli::kLocalFlagsUsage);
    return 0;
  }
  if (!args.has("--provider")) return run_local(args);
  return run_cloud(args);
}

const bool registered = cnai::cli::register_command({"run", "one chat turn on the local model (default) or a cloud provider", &run_command});

}  // namespace
