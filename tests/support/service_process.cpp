// Starting and stopping real service processes for tests (fork/exec, a
// readiness probe with a deadline, SIGTERM then SIGKILL on the way out).
#include "service_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace cnai::test {
namespace fs = std::filesystem;

namespace {

std::string make_temp_dir(const char* stem) {
  std::string pattern = std::string("/tmp/") + stem + "-XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

// Connects to 127.0.0.1:port, sends `probe`, reads the answer (empty when none).
std::string probe_tcp(int port, const std::string& probe) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, probe.data(), probe.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(probe.size())) {
    char buf[64];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) out.assign(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string find_postgres_bin(const std::string& name) {
  for (const char* v : {"17", "16", "15", "14", "13"}) {
    const std::string p = std::string("/usr/lib/postgresql/") + v + "/bin/" + name;
    if (fs::exists(p)) return p;
  }
  return {};
}

}  // namespace

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("bind to a free port failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

ChildProcess::ChildProcess(const std::string& program, const std::vector<std::string>& args,
                           const std::string& log_file, const std::string& run_as_user) {
  uid_t uid = 0;
  gid_t gid = 0;
  if (!run_as_user.empty()) {
    const passwd* pw = getpwnam(run_as_user.c_str());
    if (!pw) throw std::runtime_error("no user " + run_as_user);
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  std::vector<std::string> all{program};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    if (!run_as_user.empty() && (::setgid(gid) != 0 || ::setuid(uid) != 0)) ::_exit(126);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
}

ChildProcess::~ChildProcess() { stop(); }

ChildProcess::ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    stop();
    pid_ = other.pid_;
    other.pid_ = -1;
  }
  return *this;
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void ChildProcess::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void ChildProcess::stop(int timeout_ms) {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    if (!running()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill_hard();
}

bool RedisProcess::available() { return fs::exists("/usr/bin/redis-server"); }

RedisProcess::RedisProcess(std::string dir) : dir_(std::move(dir)) {
  if (!available()) throw std::runtime_error("redis-server is not installed (scripts/install_deps.sh)");
  if (dir_.empty()) {
    dir_ = make_temp_dir("cnai-redis");
    own_dir_ = true;
  }
  port_ = free_port();
  start();
}

void RedisProcess::start() {
  process_ = ChildProcess("/usr/bin/redis-server",
                          {"--port", std::to_string(port_), "--bind", "127.0.0.1", "--dir", dir_, "--save", "",
                           "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no"},
                          dir_ + "/redis.log");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until) {
    if (probe_tcp(port_, "PING\r\n").starts_with("+PONG")) return;
    if (!process_.running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("redis-server did not start (see " + dir_ + "/redis.log)");
}

void RedisProcess::restart() {
  process_.stop();
  start();
}

RedisProcess::~RedisProcess() {
  process_.stop();
  if (own_dir_) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

std::string RedisProcess::url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

bool PostgresProcess::available() { return !find_postgres_bin("postgres").empty(); }

PostgresProcess::PostgresProcess() {
  const std::string initdb = find_postgres_bin("initdb");
  if (initdb.empty()) throw std::runtime_error("PostgreSQL is not installed (scripts/install_deps.sh)");
  dir_ = make_temp_dir("cnai-pg");
  // PostgreSQL refuses to run as root: hand the directory to its own user.
  const bool root = ::geteuid() == 0;
  const std::string user = root ? "postgres" : "";
  if (root) {
    const passwd* pw = getpwnam("postgres");
    if (!pw) throw std::runtime_error("no postgres user");
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown failed");
  }
  {
    ChildProcess init(initdb, {"-D", dir_ + "/data", "-U", "postgres", "--auth=trust", "-E", "UTF8"},
                      dir_ + "/initdb.log", user);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (init.running() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (init.running()) throw std::runtime_error("initdb did not finish in 60 s");
  }
  port_ = free_port();
  process_ = ChildProcess(find_postgres_bin("postgres"),
                          {"-D", dir_ + "/data", "-p", std::to_string(port_), "-k", dir_, "-c",
                           "listen_addresses=127.0.0.1", "-c", "fsync=on"},
                          dir_ + "/postgres.log", user);
  const std::string ready = find_postgres_bin("pg_isready") + " -q -h 127.0.0.1 -p " + std::to_string(port_);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until) {
    if (std::system(ready.c_str()) == 0) return;
    if (!process_.running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("postgres did not start (see " + dir_ + "/postgres.log)");
}

PostgresProcess::~PostgresProcess() {
  process_.stop(10000);
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

std::string PostgresProcess::conninfo() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres connect_timeout=5";
}

}  // namespace cnai::test
