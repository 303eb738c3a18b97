// What `cnai serve` and `cnai worker` share: the Backend they answer with
// (a router from a config, the local model, or an OpenAI-compatible
// upstream), the job store URL, and waiting for SIGTERM/SIGINT.
#pragma once

#include <memory>
#include <string>

#include "cli.hpp"
#include "cnai/api/backend.hpp"
#include "cnai/server/http_server.hpp"
#include "cnai/server/job_store.hpp"

namespace cnai::cli {

extern const char* const kBackendFlagsUsage;

/// --config FILE: a router built from the config (warnings on stderr), with
/// the default alias, per-alias readiness and its metrics in `o`. --upstream
/// URL [--upstream-key-env VAR]: an OpenAI-compatible server. Otherwise the
/// local engine on -m MODEL (the default model) with the local flags. Fills
/// `o.model_ids` (--model-id, or the local model's file name).
std::shared_ptr<Backend> backend_from(const Args& args, ServerOptions& o);

/// The --queue URL: the flag, else $CNAI_QUEUE, else "" (the default SQLite file).
std::string queue_url(const Args& args);

/// --queue URL (sqlite path or redis://), default sqlite under the cache dir;
/// --lease-ms N. "none" -> nullptr.
std::unique_ptr<JobStore> job_store_from(const Args& args);

/// Blocks SIGTERM and SIGINT in this thread and every thread it starts later.
void block_stop_signals();
/// Waits for SIGTERM or SIGINT (blocked first); returns its number.
int wait_for_stop_signal();

}  // namespace cnai::cli
