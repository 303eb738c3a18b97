// Options shared by the local-model subcommands (`cnai run`, `cnai chat`):
// model, threads, context and template flags, and the sampling flags.
#pragma once

#include <string>

#include "cli.hpp"
#include "cnai/api/types.hpp"
#include "cnai/engine/local_engine.hpp"

namespace cnai::cli {

/// Usage text for the flags below, with the library's defaults.
std::string local_flags_usage();
/// Flags among them that take no value.
extern const std::vector<std::string> kLocalFlagNames;

/// -m MODEL (default model otherwise), -t THREADS, -c CTX, --template FILE,
/// --chatml. Sampling and max_tokens defaults are LocalEngineOptions's (the
/// library's, documented there); the sampling flags override them.
LocalEngineOptions engine_options_from(const Args& args);

/// --system, --max-tokens, --stop (repeatable), --seed and friends.
void apply_request_flags(const Args& args, ChatRequest& request);

/// A one-line report for stderr: tokens/s of prompt and generation.
std::string timing_line(const ChatResponse& response);

}  // namespace cnai::cli
