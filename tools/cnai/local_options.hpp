// Options shared by the local-model subcommands (`cnai run`, `cnai chat`):
// model, threads, context and template flags, and the sampling flags.
#pragma once

#include <string>

#include "cli.hpp"
#include "cnai/api/types.hpp"
#include "cnai/engine/local_engine.hpp"

namespace cnai::cli {

/// Usage text for the flags below.
extern const char* const kLocalFlagsUsage;
/// Flags among them that take no value.
extern const std::vector<std::string> kLocalFlagNames;

/// -m MODEL (default model otherwise), -t THREADS, -c CTX, --template FILE,
/// --chatml. Sampling defaults are llama.cpp's (temperature 0.8, top-k 40,
/// top-p 0.95, min-p 0.05); the sampling flags override them.
LocalEngineOptions engine_options_from(const Args& args);

/// --system, --max-tokens, --stop (repeatable), --seed and friends.
void apply_request_flags(const Args& args, ChatRequest& request);

/// A one-line report for stderr: tokens/s of prompt and generation.
std::string timing_line(const ChatResponse& response);

}  // namespace cnai::cli
