// open_job_store: the URL's scheme picks the engine.
#include <fmt/format.h>

#include "cnai/core/error.hpp"
#include "cnai/server/job_store.hpp"
#include "server/redis_job_store.hpp"
#include "server/sqlite_job_store.hpp"

namespace cnai {

std::unique_ptr<JobStore> open_job_store(const std::string& url, const JobStoreOptions& options) {
  if (url.starts_with("redis://")) {
    return std::make_unique<server::RedisJobStore>(server::RedisUrl::parse(url), options);
  }
  std::string path = url;
  if (url.starts_with("sqlite://")) {
    path = url.substr(9);  // sqlite:///abs -> /abs, sqlite://rel -> rel
  } else if (url.find("://") != std::string::npos) {
    throw Error(ErrorCode::invalid_argument, fmt::format("queue URL '{}': expected sqlite:// or redis://", url));
  }
  if (path.empty()) throw Error(ErrorCode::invalid_argument, "queue URL: empty SQLite path");
  return std::make_unique<server::SqliteJobStore>(path, options);
}

}  // namespace cnai
