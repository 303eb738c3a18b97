// `cnai chat [-m MODEL]`: an interactive conversation with a local model that
// keeps its history (the engine reuses the cached prefix each turn). Reads
// lines from stdin, so it also runs from a pipe; /reset, /exit.
#include <cstdio>
#include <iostream>
#include <string>

#include "cli.hpp"
#include "cnai/core/error.hpp"
#include "cnai/engine/local_engine.hpp"
#include "local_options.hpp"

#include <unistd.h>

namespace {

using cnai::cli::Args;

constexpr const char* kUsage =
    "usage: cnai chat [-m MODEL] [options]\n"
    "  type a message and press enter; /reset forgets the conversation, /exit (or end of input) quits\n"
    "  --verbose           print token counts and speed after each answer\n";

// Drops the oldest exchange after the system message; false when nothing is left to drop.
bool drop_oldest_turn(std::vector<cnai::Message>& history) {
  std::size_t first = !history.empty() && history[0].role == cnai::Role::system ? 1 : 0;
  if (history.size() <= first + 1) return false;
  std::size_t end = first + 1;  // the oldest user message and the replies that followed it
  while (end < history.size() - 1 && history[end].role != cnai::Role::user) ++end;
  history.erase(history.begin() + static_cast<std::ptrdiff_t>(first), history.begin() + static_cast<std::ptrdiff_t>(end));
  return true;
}

cnai::ChatResponse answer(cnai::LocalEngine& engine, cnai::ChatRequest& request) {
  for (;;) {
    try {
      return engine.chat_stream(request, [](const cnai::ChatChunk& c) {
        std::fwrite(c.delta_content.data(), 1, c.delta_content.size(), stdout);
        std::fflush(stdout);
        return true;
      });
    } catch (const cnai::Error& e) {
      if (e.code() != cnai::ErrorCode::context_overflow || !drop_oldest_turn(request.messages)) throw;
      std::fprintf(stderr, "[context full: forgetting the oldest turn]\n");
    }
  }
}

int chat_command(const std::vector<std::string>& argv) {
  std::vector<std::string> flags = {"-h", "--help", "--verbose"};
  flags.insert(flags.end(), cnai::cli::kLocalFlagNames.begin(), cnai::cli::kLocalFlagNames.end());
  Args args(argv, flags);
  if (args.has("-h") || args.has("--help")) {
    std::printf("%s%s", kUsage, cnai::cli::local_flags_usage().c_str());
    return 0;
  }
  auto engine = cnai::LocalEngine::load(cnai::cli::model_path(args), cnai::cli::engine_options_from(args));
  cnai::ChatRequest request;
  cnai::cli::apply_request_flags(args, request);
  const std::string system = args.get_or("--system", "");
  if (!system.empty()) request.messages.push_back(cnai::Message::system(system));
  const bool interactive = isatty(STDIN_FILENO) != 0;
  if (interactive) std::fprintf(stderr, "cnai chat with %s (/reset, /exit)\n", engine->model_name().c_str());
  std::string line;
  for (;;) {
    if (interactive) std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line) || line == "/exit" || line == "/quit") break;
    if (line.empty()) continue;
    if (line == "/reset") {
      request.messages.resize(system.empty() ? 0 : 1);
      continue;
    }
    request.messages.push_back(cnai::Message::user(line));
    if (interactive) std::fflush(stderr);
    const cnai::ChatResponse r = answer(*engine, request);
    std::printf("\n");
    std::fflush(stdout);
    request.messages.push_back(cnai::Message::assistant(r.choices.at(0).message.content));
    if (args.has("--verbose")) std::fputs(cnai::cli::timing_line(r).c_str(), stderr);
  }
  return 0;
}

const bool registered = cnai::cli::register_command({"chat", "interactive chat with a local model", &chat_command});

}  // namespace
