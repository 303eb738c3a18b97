// What `cnai serve` and `cnai worker` share: the Backend they answer with
// (the local model, or an OpenAI-compatible upstream), the job store URL,
// and waiting for SIGTERM/SIGINT.
#pragma once

#include <memory>
#include <string>

#include "cli.hpp"
#include "cnai/api/backend.hpp"
#include "cnai/server/job_store.hpp"

namespace cnai::cli {

extern const char* const kBackendFlagsUsage;

/// --upstream URL [--upstream-key-env VAR]: an OpenAI-compatible server;
/// otherwise the local engine on -m MODEL (the default model) with the
/// local flags. `model_ids` gets the names the backend answers to.
std::shared_ptr<Backend> backend_from(const Args& args, std::vector<std::string>& model_ids);

/// --queue URL (sqlite path or redis://), default sqlite under the cache dir;
/// --lease-ms N. "none" -> nullptr.
std::unique_ptr<JobStore> job_store_from(const Args& args);

/// Blocks SIGTERM and SIGINT in this thread and every thread it starts later.
void block_stop_signals();
/// Waits for SIGTERM or SIGINT (blocked first); returns its number.
int wait_for_stop_signal();

}  // namespace cnai::cli
