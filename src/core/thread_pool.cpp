#include "cnai/core/thread_pool.hpp"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <string>
#include <system_error>

#include "cnai/core/error.hpp"
#include "core/cpu_quota.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define CNAI_CPU_RELAX() _mm_pause()
#else
#define CNAI_CPU_RELAX() ((void)0)
#endif

namespace cnai {

int physical_core_count() noexcept {
  try {
    // The CPUs this process may run on (taskset, cpuset cgroups)...
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    std::vector<int> cpus;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
      for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
    }
    if (cpus.empty()) {
      for (unsigned cpu = 0; cpu < std::max(1u, std::thread::hardware_concurrency()); ++cpu) cpus.push_back(static_cast<int>(cpu));
    }
    // ...counted once per physical core (hyperthread siblings share one)...
    std::set<std::string> cores;
    for (int cpu : cpus) {
      std::ifstream f("/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/thread_siblings_list");
      std::string s;
      cores.insert(f >> s ? s : "cpu" + std::to_string(cpu));
    }
    int n = static_cast<int>(cores.size());
    // ...and no more than the cgroup CPU quota allows (a container's --cpus).
    if (auto quota = core::cgroup_cpu_limit()) n = std::min(n, std::max(1, static_cast<int>(std::ceil(*quota))));
    return std::max(1, n);
  } catch (...) {
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
}

ThreadPool::ThreadPool(int n_threads)
    : n_threads_(n_threads > 0 ? n_threads : physical_core_count()) {
  if (n_threads_ > kMaxThreads) {
    throw Error(ErrorCode::invalid_argument, "ThreadPool: " + std::to_string(n_threads_) + " threads asked, at most " +
                                                 std::to_string(kMaxThreads));
  }
  // A thread that cannot be created must not leave the others running (a
  // std::thread destroyed while joinable calls std::terminate).
  try {
    workers_.reserve(static_cast<std::size_t>(n_threads_ - 1));
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
  } catch (const std::exception& e) {
    const std::size_t started = workers_.size();
    stop_workers();
    throw Error(ErrorCode::out_of_memory, "ThreadPool: could start only " + std::to_string(started + 1) + " of " +
                                              std::to_string(n_threads_) + " threads: " + e.what());
  }
}

void ThreadPool::stop_workers() noexcept {
  stop_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::run_job(const Job& job, int index) noexcept {
  try {
    job.call(job.ctx, index, n_threads_);
  } catch (...) {
    std::lock_guard<std::mutex> lock(error_mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

// Claims and runs shares of job `gen` until none is left. A share is claimed
// with a CAS on claim_, which also proves job_ still belongs to `gen`.
void ThreadPool::run_claimed(std::uint32_t gen) noexcept {
  for (;;) {
    std::uint64_t v = claim_.load(std::memory_order_acquire);
    if (static_cast<std::uint32_t>(v >> 32) != gen) return;
    const auto index = static_cast<int>(v & 0xffffffffu);
    if (index >= n_threads_) return;
    if (!claim_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) continue;
    run_job(job_, index);
    done_.fetch_add(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::dispatch(const Job& job) {
  // One job at a time: a nested run() (from inside a job) would wait for
  // itself and a concurrent one would overwrite the job in flight. Both fail.
  if (running_.exchange(true, std::memory_order_acq_rel)) {
    throw Error(ErrorCode::invalid_argument,
                "ThreadPool::run called while another run() is in progress on the same pool (nested, or from "
                "another thread): one caller at a time; give concurrent callers their own pools");
  }
  struct Running {
    std::atomic<bool>& flag;
    ~Running() { flag.store(false, std::memory_order_release); }
  } running{running_};
  if (n_threads_ == 1) {
    job.call(job.ctx, 0, 1);
    return;
  }
  job_ = job;
  done_.store(0, std::memory_order_relaxed);
  const std::uint32_t gen = generation_.load(std::memory_order_relaxed) + 1;
  claim_.store(static_cast<std::uint64_t>(gen) << 32, std::memory_order_release);
  generation_.store(gen, std::memory_order_release);
  generation_.notify_all();
  run_claimed(gen);
  // Only shares a worker has started remain: spin a little, then yield the core.
  for (int spin = 0; done_.load(std::memory_order_acquire) != n_threads_; ++spin) {
    if (spin < 4096) {
      CNAI_CPU_RELAX();
    } else {
      std::this_thread::yield();
    }
  }
  if (error_) {
    std::exception_ptr e;
    {
      std::lock_guard<std::mutex> lock(error_mutex_);
      std::swap(e, error_);
    }
    std::rethrow_exception(e);
  }
}

void ThreadPool::worker_loop(int index) {
  (void)index;
  // Workers start before any job is dispatched, so generation 0 is "seen".
  std::uint32_t seen = 0;
  for (;;) {
    // Spin first: per-token decode issues hundreds of jobs a few microseconds
    // apart, and a futex wake-up would cost more than the job.
    // Every kYieldEvery spins (tens of µs) offer the core to another thread:
    // on an oversubscribed machine the caller this worker waits for may be
    // the one waiting for a core; on an idle one the yield returns at once.
    constexpr int kYieldEvery = 1024;
    std::uint32_t g = seen;
    for (int spin = 1; spin <= (1 << 16); ++spin) {
      g = generation_.load(std::memory_order_acquire);
      if (g != seen) break;
      if (spin % kYieldEvery == 0) {
        std::this_thread::yield();
      } else {
        CNAI_CPU_RELAX();
      }
    }
    if (g == seen) {
      generation_.wait(seen, std::memory_order_acquire);
      g = generation_.load(std::memory_order_acquire);
      if (g == seen) continue;
    }
    seen = g;
    if (stop_.load(std::memory_order_acquire)) return;
    run_claimed(g);
  }
}

}  // namespace cnai
