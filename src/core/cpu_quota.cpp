#include "core/cpu_quota.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

namespace cnai::core {
namespace {

std::optional<long long> parse_int(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  long long v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::string> read(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The path of this process's cgroup for `controller` ("" for the v2 unified one).
std::optional<std::string> cgroup_path(std::string_view controller) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {  // "ID:controllers:path"
    const auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string_view controllers = std::string_view(line).substr(a + 1, b - a - 1);
    if (controller.empty()) {
      if (controllers.empty()) return line.substr(b + 1);
      continue;
    }
    while (!controllers.empty()) {  // "cpu,cpuacct": a comma-separated list
      const auto comma = controllers.find(',');
      if (controllers.substr(0, comma) == controller) return line.substr(b + 1);
      controllers = comma == std::string_view::npos ? std::string_view{} : controllers.substr(comma + 1);
    }
  }
  return std::nullopt;
}

std::optional<double> tighter(std::optional<double> a, std::optional<double> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

// A limit set on any ancestor applies too: walk from the process's cgroup up.
template <class ReadLimit>
std::optional<double> walk_up(std::string root, std::string path, ReadLimit read_limit) {
  std::optional<double> limit;
  for (;;) {
    limit = tighter(limit, read_limit(root + path));
    if (path.empty() || path == "/") break;
    path = path.substr(0, path.find_last_of('/'));
  }
  return limit;
}

}  // namespace

std::optional<double> cpu_limit_from_cgroup_v2(std::string_view cpu_max) {
  const auto space = cpu_max.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto quota = parse_int(cpu_max.substr(0, space));  // "max" -> nullopt: unlimited
  const auto period = parse_int(cpu_max.substr(space + 1));
  if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

std::optional<double> cpu_limit_from_cgroup_v1(std::string_view quota_us, std::string_view period_us) {
  const auto quota = parse_int(quota_us), period = parse_int(period_us);
  if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

std::optional<double> cgroup_cpu_limit() {
  if (auto v2 = cgroup_path("")) {
    auto limit = walk_up("/sys/fs/cgroup", *v2, [](const std::string& dir) -> std::optional<double> {
      auto text = read(dir + "/cpu.max");
      return text ? cpu_limit_from_cgroup_v2(*text) : std::nullopt;
    });
    if (limit) return limit;
  }
  if (auto v1 = cgroup_path("cpu")) {
    for (const char* mount : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
      auto limit = walk_up(mount, *v1, [](const std::string& dir) -> std::optional<double> {
        auto quota = read(dir + "/cpu.cfs_quota_us"), period = read(dir + "/cpu.cfs_period_us");
        return quota && period ? cpu_limit_from_cgroup_v1(*quota, *period) : std::nullopt;
      });
      if (limit) return limit;
    }
  }
  return std::nullopt;
}

}  // namespace cnai::core
