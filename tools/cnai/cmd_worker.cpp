// `cnai worker`: takes batch lines and background responses off a shared
// queue (Redis Streams, or a SQLite file on this machine) and answers them
// with a backend, until SIGTERM.
#include <fmt/format.h>

#include <cstdio>
#include <thread>

#include "cli.hpp"
#include "cnai/server/http_server.hpp"
#include "cnai/server/job_service.hpp"
#include "cnai/server/job_worker.hpp"
#include "local_options.hpp"
#include "serve_options.hpp"

namespace {

using cnai::cli::Args;

constexpr const char* kUsage =
    "usage: cnai worker --queue URL [backend] [options]\n"
    "  --workers N                workers in this process (default 1)\n"
    "  --max-deliveries N         an entry delivered more often goes to the error file (default 3)\n"
    "  --consumer NAME            consumer name in the group (default host-pid-n)\n";

int run_worker(const std::vector<std::string>& argv) {
  std::vector<std::string> flags = cnai::cli::kLocalFlagNames;
  flags.push_back("--help");
  Args args(argv, flags);
  if (args.has("--help")) {
    std::fprintf(stderr, "%s%s%s", kUsage, cnai::cli::kBackendFlagsUsage, cnai::cli::local_flags_usage().c_str());
    return 0;
  }
  cnai::cli::block_stop_signals();
  cnai::ServerOptions o;
  auto backend = cnai::cli::backend_from(args, o);
  auto store = cnai::cli::job_store_from(args);
  if (!store) throw cnai::Error(cnai::ErrorCode::invalid_argument, "--queue: a worker needs a queue");
  cnai::JobService jobs(*store);
  std::vector<std::jthread> workers;
  const int n = static_cast<int>(args.get_int("--workers", 1));
  for (int i = 0; i < n; ++i) {
    cnai::JobWorkerOptions wo;
    wo.max_deliveries = static_cast<int>(args.get_int("--max-deliveries", wo.max_deliveries));
    if (auto c = args.get("--consumer")) wo.consumer = n > 1 ? fmt::format("{}-{}", *c, i) : *c;
    workers.emplace_back([&, wo, executor = cnai::endpoint_executor(*backend, o)](std::stop_token st) {
      cnai::JobWorker(jobs, executor, wo).run(st);
    });
  }
  std::printf("cnai worker: %d worker(s) on the queue\n", n);
  std::fflush(stdout);
  cnai::cli::wait_for_stop_signal();
  for (auto& w : workers) w.request_stop();
  workers.clear();
  return 0;
}

const bool registered = cnai::cli::register_command({"worker", "work a job queue (batches, background responses)", run_worker});

}  // namespace
