#include "serve_options.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cnai/clients/openai_client.hpp"
#include "cnai/core/error.hpp"
#include "cnai/engine/local_engine.hpp"
#include "cnai/router/router_config.hpp"
#include "cnai/server/redis_response_cache.hpp"
#include "cnai/server/redis_spend_store.hpp"
#include "cnai/server/router_serving.hpp"
#include "local_options.hpp"

namespace cnai::cli {

const char* const kBackendFlagsUsage =
    "backend (one of):\n"
    "  --config FILE              a router (YAML or JSON, as cnai router check reads it): its aliases are the\n"
    "                             models; a request naming none goes to the default alias\n"
    "  --budget-store URL         where the router's budgets are counted: redis://host:port[/db] (shared by\n"
    "                             every replica and worker on it) or memory (default: $CNAI_BUDGET_STORE, else memory)\n"
    "  --cache-store URL          where the response caches of aliases with cache: on live: redis://host:port[/db]\n"
    "                             (shared by every replica and worker on it; a Redis down or slow is only misses)\n"
    "                             or memory (default: $CNAI_CACHE_STORE, else memory, one per alias)\n"
    "  -m MODEL                   the local engine on a GGUF file (default: the set-up's model)\n"
    "  --upstream URL             an OpenAI-compatible server, e.g. http://127.0.0.1:8081/v1\n"
    "  --upstream-key-env VAR     its API key's environment variable (default OPENAI_API_KEY)\n"
    "  --model-id NAME            the model id /v1/models lists (repeatable)\n"
    "queue:\n"
    "  --queue URL                sqlite:///path.db, redis://[:password@]host:port, or none\n"
    "                             (default: $CNAI_QUEUE, else sqlite under $CNAI_CACHE_DIR/jobs.db)\n"
    "  --lease-ms N               a claimed entry unacknowledged this long goes to another worker (default 120000)\n";

namespace {

// A store's URL: the flag, else the variable (e.g. from a Kubernetes Secret), else "".
std::string flag_or_env(const Args& args, const char* flag, const char* var) {
  return args.get_or(flag, process_environment(var).value_or(""));
}

}  // namespace

std::string queue_url(const Args& args) { return flag_or_env(args, "--queue", "CNAI_QUEUE"); }

namespace {

// --config FILE: the router, its left-out deployments reported on stderr.
std::shared_ptr<Backend> router_from(const Args& args, const std::string& path, ServerOptions& o) {
  ConfigCheck check = check_router_config_file(path, cli::process_environment);  // ${VAR}: the pod's environment
  for (const ConfigProblem& p : check.problems) {
    if (p.warning) std::fprintf(stderr, "cnai: %s\n", p.describe(path).c_str());
  }
  if (!check.ok()) {
    throw Error(ErrorCode::invalid_argument, "router config " + path + " has problems:\n" + check.report(path));
  }
  RouterBuildOptions bo;
  bo.env = cli::process_environment;
  bo.local_options = engine_options_from(args);
  bo.spend_store = open_spend_store(flag_or_env(args, "--budget-store", "CNAI_BUDGET_STORE"));
  bo.response_cache_store = open_response_cache_store(flag_or_env(args, "--cache-store", "CNAI_CACHE_STORE"));
  if (auto* redis = dynamic_cast<RedisResponseCache*>(bo.response_cache_store.get()); redis && !redis->reachable()) {
    // Not fatal: the cache fails open, and Redis may come up after this replica.
    // The URL may carry a password: only Redis's host and port (in the error) are printed.
    std::fprintf(stderr, "cnai: --cache-store: %s; requests go to the deployments until it answers\n",
                 redis->last_error().c_str());
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  auto router = build_router(check.config, bo, dir.empty() ? "." : dir);
  serve_router(o, router, check.config.default_alias);
  return router;
}

}  // namespace

std::shared_ptr<Backend> backend_from(const Args& args, ServerOptions& o) {
  o.model_ids = args.get_all("--model-id");
  if (auto path = args.get("--config")) return router_from(args, *path, o);
  if (auto url = args.get("--upstream")) {
    OpenAiOptions oo;
    oo.base_url = *url;
    const char* key = std::getenv(args.get_or("--upstream-key-env", "OPENAI_API_KEY").c_str());
    oo.api_key = key ? key : "";
    oo.backend_name = "upstream";
    return std::make_shared<OpenAiClient>(oo);
  }
  const std::string path = model_path(args);
  auto engine = LocalEngine::load(path, engine_options_from(args));
  if (o.model_ids.empty()) o.model_ids.push_back(std::filesystem::path(path).stem().string());
  return engine;
}

std::unique_ptr<JobStore> job_store_from(const Args& args) {
  std::string url = queue_url(args);
  if (url == "none") return nullptr;
  if (url.empty()) {
    const std::string dir = cache_dir();
    std::filesystem::create_directories(dir);
    url = "sqlite://" + dir + "/jobs.db";
  }
  JobStoreOptions o;
  o.lease = std::chrono::milliseconds(args.get_int("--lease-ms", o.lease.count()));
  return open_job_store(url, o);
}

namespace {
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}
}  // namespace

void block_stop_signals() {
  sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_stop_signal() {
  sigset_t set = stop_signals();
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace cnai::cli
