// `cnai run`: one chat turn. With --provider it calls a cloud API (OpenAI,
// Azure OpenAI, Anthropic, or any OpenAI-compatible server via --base-url);
// with --config a router (YAML/JSON) that picks the deployment per request;
// without either, the local engine on a GGUF model (the default model unless -m).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

#include "cli.hpp"
#include "cnai/api/json.hpp"
#include "cnai/clients/anthropic_client.hpp"
#include "cnai/clients/openai_client.hpp"
#include "cnai/core/error.hpp"
#include "cnai/engine/local_engine.hpp"
#include "cnai/router/router.hpp"
#include "local_options.hpp"

namespace {

using cnai::cli::Args;

constexpr const char* kUsage =
    "usage: cnai run [-m MODEL] -p TEXT [options]          (local model)\n"
    "       cnai run --provider openai|azure|anthropic --model NAME -p TEXT [--system S]\n"
    "                [--base-url URL] [--max-tokens N] [--temperature T] [--json] [--no-stream]\n"
    "                [--api-key-env VAR] [--deployment NAME] [--max-retries N] [--timeout S]\n"
    "       cnai run --config router.yaml [--model ALIAS] -p TEXT [--json] [--no-stream]   (a router)\n"
    "  --json              print one JSON object: the chat.completion (choices, usage) plus \"cnai\"\n"
    "                      (backend, cost, timings; token ids of local choices)\n"
    "  --no-stream         print the answer when it is complete\n"
    "  --timeout S         give up after S seconds: per attempt for a provider (default 600;\n"
    "                      also connect 10 s, first byte 600 s, 120 s between stream reads,\n"
    "                      --max-retries 2), the whole answer for the local model (default none)\n"
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

std::optional<std::chrono::milliseconds> timeout_from(const Args& args) {
  if (!args.has("--timeout")) return std::nullopt;
  const double seconds = args.get_double("--timeout", 0);
  if (!(seconds > 0) || seconds > 86400 * 7)
    throw cnai::Error(cnai::ErrorCode::invalid_argument, "--timeout must be a number of seconds in (0, 604800]");
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0));
}

// The options from_env() read (proxy, prices), with the flags applied on top.
void apply_common_flags(const Args& args, cnai::ClientCommonOptions& c) {
  c.retries.max_retries = static_cast<int>(args.get_int("--max-retries", c.retries.max_retries));
  if (auto t = timeout_from(args)) {
    c.timeouts.total = *t;
    c.timeouts.first_byte = std::min(c.timeouts.first_byte, *t);
    c.timeouts.idle_read = std::min(c.timeouts.idle_read, *t);
  }
}

std::shared_ptr<cnai::Backend> make_cloud_backend(const std::string& provider, const Args& args, const cnai::ChatRequest& request) {
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
    apply_common_flags(args, o.common);
    return std::make_shared<cnai::OpenAiClient>(o);
  }
  if (provider == "anthropic") {
    cnai::AnthropicOptions o = cnai::AnthropicOptions::from_env();
    if (auto url = args.get("--base-url")) o.base_url = *url;
    if (args.has("--api-key-env") || o.api_key.empty()) o.api_key = api_key_from(args, "ANTHROPIC_API_KEY");
    if (o.api_key.empty() && !args.has("--base-url")) {
      throw cnai::Error(cnai::ErrorCode::unauthorized, "no API key: set " + args.get_or("--api-key-env", "ANTHROPIC_API_KEY"));
    }
    apply_common_flags(args, o.common);
    return std::make_shared<cnai::AnthropicClient>(o);
  }
  throw cnai::Error(cnai::ErrorCode::invalid_argument,
                    "unknown --provider '" + provider + "' (expected openai, azure or anthropic)");
}

// Streams (or not) through any Backend and prints the answer; --json prints
// the one ChatResponse shape (OpenAI's chat.completion plus a "cnai" object)
// whatever served it.
int run_backend(const Args& args, cnai::Backend& backend, cnai::ChatRequest request) {
  const bool stream = !args.has("--no-stream") && !args.has("--json");
  cnai::ChatResponse response;
  if (stream) {
    response = backend.chat_stream(request, [](const cnai::ChatChunk& c) {
      std::fwrite(c.delta_content.data(), 1, c.delta_content.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    std::printf("\n");
  } else {
    response = backend.chat(request);
  }
  if (args.has("--json")) {
    const std::string json = cnai::to_openai_json(response);
    std::fwrite(json.data(), 1, json.size(), stdout);
    std::fputc('\n', stdout);
  } else if (!stream && !response.choices.empty()) {
    const std::string& text = response.choices[0].message.content;
    std::fwrite(text.data(), 1, text.size(), stdout);  // whole, NUL bytes included
    std::fputc('\n', stdout);
  }
  if (response.route) {
    // Which deployment answered, and why the others did not.
    std::string line = "[router: " + response.route->alias + " -> " + response.route->deployment;
    if (response.route->attempts.size() > 1) line += " after";
    for (const auto& a : response.route->attempts)
      if (!a.error_code.empty()) line += " " + a.deployment + " (" + a.error_code + ")";
    if (!response.route->joined_from.empty()) line += "; joined after " + response.route->joined_from;
    line += "; router overhead " + std::to_string(static_cast<long long>(response.route->router_overhead_us)) + " us]\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  if (!args.has("--json")) {
    for (const auto& c : response.choices) {
      for (const auto& call : c.message.tool_calls) {
        const std::string line = "[tool call " + call.name + "(" + call.arguments + ")]\n";
        std::fwrite(line.data(), 1, line.size(), stdout);  // whole, NUL bytes included
      }
    }
  }
  std::fflush(stdout);
  const std::string timing = cnai::cli::timing_line(response);
  std::fwrite(timing.data(), 1, timing.size(), stderr);
  return 0;
}

int run_cloud(const Args& args) {
  cnai::ChatRequest request = request_from(args);
  cnai::cli::apply_request_flags(args, request);
  if (request.model.empty()) throw cnai::Error(cnai::ErrorCode::invalid_argument, "missing --model NAME");
  auto backend = make_cloud_backend(*args.get("--provider"), args, request);
  return run_backend(args, *backend, std::move(request));
}

int run_local(const Args& args) {
  cnai::ChatRequest request = request_from(args);
  cnai::cli::apply_request_flags(args, request);
  if (auto t = timeout_from(args)) request.deadline = std::chrono::steady_clock::now() + *t;
  auto engine = cnai::LocalEngine::load(cnai::cli::model_path(args), cnai::cli::engine_options_from(args));
  return run_backend(args, *engine, std::move(request));
}

int run_router(const Args& args) {
  cnai::ChatRequest request = request_from(args);
  cnai::cli::apply_request_flags(args, request);
  if (auto t = timeout_from(args)) request.deadline = std::chrono::steady_clock::now() + *t;
  cnai::RouterBuildOptions options;
  options.local_options = cnai::cli::engine_options_from(args);
  options.env = cnai::cli::process_environment;  // ${VAR} in the config: this shell's environment
  auto router = cnai::Router::from_config_file(*args.get("--config"), options);
  return run_backend(args, *router, std::move(request));
}

int run_command(const std::vector<std::string>& argv) {
  std::vector<std::string> flags = {"--json", "--no-stream", "-h", "--help"};
  flags.insert(flags.end(), cnai::cli::kLocalFlagNames.begin(), cnai::cli::kLocalFlagNames.end());
  Args args(argv, flags);
  if (args.has("-h") || args.has("--help")) {
    std::fprintf(stdout, "%s%s", kUsage, cnai::cli::local_flags_usage().c_str());
    return 0;
  }
  if (args.has("--config")) return run_router(args);
  if (!args.has("--provider")) return run_local(args);
  return run_cloud(args);
}

const bool registered = cnai::cli::register_command({"run", "one chat turn on the local model (default) or a cloud provider", &run_command});

}  // namespace
