// `cnai serve`: the OpenAI-compatible server over a backend, with Files,
// Batches and background Responses on a job queue worked by in-process
// workers (and by `cnai worker`s sharing the queue). SIGTERM drains.
#include <fmt/format.h>

#include <cstdio>
#include <thread>

#include "cli.hpp"
#include "cnai/core/error.hpp"
#include "cnai/server/http_server.hpp"
#include "cnai/server/job_service.hpp"
#include "cnai/server/job_worker.hpp"
#include "cnai/server/usage_log.hpp"
#include "local_options.hpp"
#include "serve_options.hpp"

namespace {

using cnai::cli::Args;

constexpr const char* kUsage =
    "usage: cnai serve [--host H] [--port P] [backend] [queue] [options]\n"
    "  --host H                   address to listen on (default 127.0.0.1; 0.0.0.0 for all)\n"
    "  --port P                   port (default 8080; 0 picks a free one, printed at start)\n"
    "  --workers N                in-process queue workers (default 1; 0: leave the queue to cnai worker)\n"
    "  --api-keys FILE            lines 'name sha256-hex [requests-per-minute]'; keys required when given\n"
    "  --usage-db CONNINFO        write usage records to PostgreSQL (libpq string or postgresql:// URL)\n"
    "  --io-threads N  --compute-threads N  --max-queued N  --max-connections N\n"
    "  --max-body-bytes N  --drain-timeout-ms N  --header-timeout-ms N  --idle-timeout-ms N\n";

std::vector<cnai::ApiKey> read_api_keys(const std::string& path) {
  std::vector<cnai::ApiKey> keys;
  const std::string text = cnai::cli::read_file(path);
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    const std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line.empty() || line[0] == '#') continue;
    cnai::ApiKey k;
    char name[256] = {}, hash[129] = {};
    double rpm = 0;
    if (std::sscanf(line.c_str(), "%255s %128s %lf", name, hash, &rpm) < 2 || std::string(hash).size() != 64) {
      throw cnai::Error(cnai::ErrorCode::invalid_argument, fmt::format("{}: bad line '{}'", path, line));
    }
    keys.push_back({name, hash, rpm});
  }
  return keys;
}

int run_serve(const std::vector<std::string>& argv) {
  std::vector<std::string> flags = cnai::cli::kLocalFlagNames;
  flags.push_back("--help");
  Args args(argv, flags);
  if (args.has("--help")) {
    std::fprintf(stderr, "%s%s%s", kUsage, cnai::cli::kBackendFlagsUsage, cnai::cli::local_flags_usage().c_str());
    return 0;
  }
  cnai::cli::block_stop_signals();  // before any thread starts: only sigwait below sees them
  cnai::ServerOptions o;
  o.host = args.get_or("--host", o.host);
  o.port = static_cast<std::uint16_t>(args.get_int("--port", o.port));
  o.io_threads = static_cast<int>(args.get_int("--io-threads", o.io_threads));
  o.compute_threads = static_cast<int>(args.get_int("--compute-threads", o.compute_threads));
  o.limits.max_queued = static_cast<std::size_t>(args.get_int("--max-queued", static_cast<std::int64_t>(o.limits.max_queued)));
  o.limits.max_connections =
      static_cast<std::size_t>(args.get_int("--max-connections", static_cast<std::int64_t>(o.limits.max_connections)));
  o.limits.max_body_bytes =
      static_cast<std::size_t>(args.get_int("--max-body-bytes", static_cast<std::int64_t>(o.limits.max_body_bytes)));
  o.limits.header_timeout = std::chrono::milliseconds(args.get_int("--header-timeout-ms", o.limits.header_timeout.count()));
  o.limits.idle_timeout = std::chrono::milliseconds(args.get_int("--idle-timeout-ms", o.limits.idle_timeout.count()));
  o.drain_timeout = std::chrono::milliseconds(args.get_int("--drain-timeout-ms", o.drain_timeout.count()));
  if (auto file = args.get("--api-keys")) o.api_keys = read_api_keys(*file);
  if (auto db = args.get("--usage-db")) o.usage = std::make_shared<cnai::PostgresUsageLog>(cnai::PostgresUsageOptions{*db});

  auto backend = cnai::cli::backend_from(args, o);
  auto store = cnai::cli::job_store_from(args);
  std::unique_ptr<cnai::JobService> jobs;
  if (store) jobs = std::make_unique<cnai::JobService>(*store);

  cnai::HttpServer server(*backend, o, jobs.get());
  server.start();
  std::vector<std::jthread> workers;
  if (jobs) {
    const int n = static_cast<int>(args.get_int("--workers", 1));
    for (int i = 0; i < n; ++i) {
      workers.emplace_back([&, executor = cnai::endpoint_executor(*backend, o)](std::stop_token st) {
        cnai::JobWorker(*jobs, executor).run(st);
      });
    }
  }
  std::printf("cnai serve: listening on http://%s:%u\n", o.host.c_str(), server.port());
  std::fflush(stdout);
  const int sig = cnai::cli::wait_for_stop_signal();
  std::fprintf(stderr, "cnai serve: signal %d, draining\n", sig);
  server.drain();
  for (auto& w : workers) w.request_stop();
  workers.clear();  // joins: each worker finishes (or hands back) its current entry
  return 0;
}

const bool registered = cnai::cli::register_command({"serve", "OpenAI-compatible HTTP server (+ Files, Batches)", run_serve});

}  // namespace
