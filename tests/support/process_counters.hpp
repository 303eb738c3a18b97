#pragma once
// What a load test counts to see leaks: this process's open descriptors
// (sockets apart from the rest: eventfd, timerfd, epoll, files), its threads
// and its resident memory, read from /proc.
#include <dirent.h>
#include <unistd.h>

#include <cstddef>
#include <fstream>
#include <string>

namespace cnai::test {

struct FdCount {
  std::size_t all = 0, sockets = 0;
  std::size_t others() const { return all - sockets; }
};

inline FdCount open_fds() {
  FdCount n;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      ++n.all;
      char target[64] = {};
      const std::string path = std::string("/proc/self/fd/") + e->d_name;
      if (readlink(path.c_str(), target, sizeof target - 1) > 0 && std::string(target).rfind("socket:", 0) == 0) ++n.sockets;
    }
    closedir(d);
  }
  // The directory stream's own descriptor was counted while it was open.
  if (n.all > 0) --n.all;
  return n;
}

inline std::size_t threads_now() {
  std::size_t n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

inline std::size_t rss_kb() {
  std::ifstream f("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) / 1024;
}

}  // namespace cnai::test
