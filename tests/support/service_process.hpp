// Real servers for tests, started from their Debian packages and stopped
// when the object goes: redis-server (AOF fsync always, so a kill -9 loses
// nothing acknowledged) and PostgreSQL (initdb into a temporary directory).
// Each listens on a free loopback port; start-up is bounded in time.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace cnai::test {

/// A free TCP port on 127.0.0.1 (bound and released: a tiny race, retried by callers).
int free_port();

/// A child process; SIGTERM and reaped on destruction.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const std::string& program, const std::vector<std::string>& args, const std::string& log_file,
               const std::string& run_as_user = {});
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;

  pid_t pid() const { return pid_; }
  bool running();
  void kill_hard();            // SIGKILL and reap
  void stop(int timeout_ms = 5000);  // SIGTERM, wait, then SIGKILL

 private:
  pid_t pid_ = -1;
};

class RedisProcess {
 public:
  /// Starts redis-server; throws std::runtime_error when it is not installed or
  /// does not answer PING within 10 s. `dir` keeps its AOF across restarts.
  explicit RedisProcess(std::string dir = {});
  ~RedisProcess();
  std::string url() const;
  int port() const { return port_; }
  void kill_hard() { process_.kill_hard(); }
  void restart();  // same port and data directory
  static bool available();

 private:
  void start();
  std::string dir_;
  bool own_dir_ = false;
  int port_ = 0;
  ChildProcess process_;
};

class PostgresProcess {
 public:
  /// initdb + postgres on a free port (as the `postgres` user when run as root).
  explicit PostgresProcess();
  ~PostgresProcess();
  /// libpq connection string for the superuser's `postgres` database.
  std::string conninfo() const;
  static bool available();

 private:
  std::string dir_;
  int port_ = 0;
  ChildProcess process_;
};

}  // namespace cnai::test
