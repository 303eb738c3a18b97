#include <doctest/doctest.h>

#include <sched.h>
#include <sys/resource.h>

#include <atomic>
#include <fstream>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/core/thread_pool.hpp"
#include "core/cpu_quota.hpp"

TEST_CASE("ThreadPool runs every thread index exactly once per job") {
  for (int n : {1, 2, 3, 5}) {
    cnai::ThreadPool pool(n);
    CHECK(pool.size() == n);
    for (int rep = 0; rep < 200; ++rep) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
      pool.run([&](int i, int nt) {
        REQUIRE(nt == n);
        hits[static_cast<std::size_t>(i)].fetch_add(1);
      });
      for (auto& h : hits) REQUIRE(h.load() == 1);
    }
  }
}

TEST_CASE("parallel_for covers the range once, in grain-aligned chunks") {
  cnai::ThreadPool pool(3);
  for (std::int64_t n : {1, 7, 32, 33, 1000}) {
    std::vector<std::atomic<int>> seen(static_cast<std::size_t>(n));
    pool.parallel_for(n, 8, [&](std::int64_t b, std::int64_t e) {
      CHECK(b % 8 == 0);
      for (auto i = b; i < e; ++i) seen[static_cast<std::size_t>(i)].fetch_add(1);
    });
    for (auto& s : seen) REQUIRE(s.load() == 1);
  }
}

TEST_CASE("an exception in a worker reaches the caller and the pool stays usable") {
  cnai::ThreadPool pool(2);
  CHECK_THROWS_AS(pool.run([](int i, int) {
                    if (i == 1) throw cnai::Error(cnai::ErrorCode::internal, "boom");
                  }),
                  cnai::Error);
  std::atomic<int> count{0};
  pool.run([&](int, int) { count.fetch_add(1); });
  CHECK(count.load() == 2);
}

TEST_CASE("physical_core_count is positive") { CHECK(cnai::physical_core_count() >= 1); }

TEST_CASE("nested and concurrent run() fail with a clear error instead of hanging") {
  for (int n : {1, 2}) {
    CAPTURE(n);
    cnai::ThreadPool pool(n);
    try {
      pool.run([&](int i, int) {
        if (i == 0) pool.run([](int, int) {});
      });
      FAIL("a nested run() returned");
    } catch (const cnai::Error& e) {
      CHECK(e.code() == cnai::ErrorCode::invalid_argument);
      CHECK(std::string(e.what()).find("nested") != std::string::npos);
    }
    int after = 0;
    pool.run([&](int i, int) {
      if (i == 0) ++after;
    });
    CHECK(after == 1);  // still usable
  }

  cnai::ThreadPool pool(2);
  std::atomic<bool> inside{false}, release{false};
  std::thread first([&] {
    pool.run([&](int i, int) {
      if (i != 0) return;
      inside = true;
      while (!release) std::this_thread::yield();
    });
  });
  while (!inside) std::this_thread::yield();
  CHECK_THROWS_AS(pool.run([](int, int) {}), cnai::Error);  // from another thread, at once
  release = true;
  first.join();
}

TEST_CASE("the core count honours the CPU affinity mask") {
  cpu_set_t saved;
  REQUIRE(sched_getaffinity(0, sizeof saved, &saved) == 0);
  int first_cpu = -1;
  for (int c = 0; c < CPU_SETSIZE && first_cpu < 0; ++c)
    if (CPU_ISSET(c, &saved)) first_cpu = c;
  REQUIRE(first_cpu >= 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first_cpu, &one);
  REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);  // as `taskset -c N` would
  const int cores = cnai::physical_core_count();
  const int pool_size = cnai::ThreadPool(0).size();
  REQUIRE(sched_setaffinity(0, sizeof saved, &saved) == 0);
  CHECK(cores == 1);
  CHECK(pool_size == 1);
}

TEST_CASE("cgroup CPU quotas are read as CPUs") {
  using cnai::core::cpu_limit_from_cgroup_v1;
  using cnai::core::cpu_limit_from_cgroup_v2;
  CHECK_FALSE(cpu_limit_from_cgroup_v2("max 100000\n"));
  CHECK(cpu_limit_from_cgroup_v2("100000 100000\n") == 1.0);
  CHECK(cpu_limit_from_cgroup_v2("150000 100000") == 1.5);
  CHECK_FALSE(cpu_limit_from_cgroup_v2("garbage"));
  CHECK_FALSE(cpu_limit_from_cgroup_v1("-1\n", "100000\n"));
  CHECK(cpu_limit_from_cgroup_v1("50000\n", "100000\n") == 0.5);
  CHECK(cnai::physical_core_count() >= 1);
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST_CASE("a thread that cannot be started stops the others and throws, without std::terminate") {
  // Leave room for about two more thread stacks (8 MiB each) of address space.
  std::ifstream status("/proc/self/status");
  std::string line;
  long long vm_kb = 0;
  while (std::getline(status, line))
    if (line.rfind("VmSize:", 0) == 0) vm_kb = std::stoll(line.substr(7));
  REQUIRE(vm_kb > 0);
  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_AS, &saved) == 0);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(vm_kb + 20 * 1024) * 1024;
  REQUIRE(setrlimit(RLIMIT_AS, &tight) == 0);
  bool threw = false;
  std::string what;
  try {
    cnai::ThreadPool pool(64);
  } catch (const cnai::Error& e) {
    threw = true;
    what = e.what();
  }
  REQUIRE(setrlimit(RLIMIT_AS, &saved) == 0);
  CHECK(threw);
  CHECK(what.find("could start only") != std::string::npos);
  cnai::ThreadPool after(2);  // and threads can be made again
  CHECK(after.size() == 2);
}
#endif
