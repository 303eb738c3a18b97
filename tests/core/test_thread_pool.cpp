#include <doctest/doctest.h>

#include <atomic>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/core/thread_pool.hpp"

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
