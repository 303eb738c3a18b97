// How many CPUs this process may really use: its affinity mask and its
// cgroup CPU quota (a container limited to one core must not get two workers).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cnai::core {

/// cgroup v2 "cpu.max" ("max 100000" or "150000 100000") -> CPUs (1.5); nullopt: no limit or unreadable.
std::optional<double> cpu_limit_from_cgroup_v2(std::string_view cpu_max);
/// cgroup v1 cpu.cfs_quota_us and cpu.cfs_period_us contents -> CPUs; nullopt: no limit (-1).
std::optional<double> cpu_limit_from_cgroup_v1(std::string_view quota_us, std::string_view period_us);

/// The tightest CPU limit of this process's cgroups (v2, else v1), in CPUs.
std::optional<double> cgroup_cpu_limit();

}  // namespace cnai::core
