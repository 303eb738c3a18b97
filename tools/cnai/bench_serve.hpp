// `cnai bench --concurrency ...`: the serving mode of `cnai bench` (cmd_bench_serve.cpp).
#pragma once

#include "cli.hpp"

namespace cnai::cli {

/// Aggregate tokens/s, time to first token and inter-token latency at each
/// concurrency, the prefix cache's effect, and a new request's time to first
/// token under load. Prints a table, or JSON with --json.
int run_bench_serve(const Args& args);

}  // namespace cnai::cli
