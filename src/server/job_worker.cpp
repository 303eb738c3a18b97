// JobWorker: claim, process, repeat; sweep now and then.
#include "cnai/server/job_worker.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "cnai/core/error.hpp"

namespace cnai {

namespace {

std::string default_consumer() {
  static std::atomic<int> counter{0};
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return fmt::format("{}-{}-{}", host, getpid(), counter++);
}

void sleep_for(std::stop_token stop, std::chrono::milliseconds d) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait_for(lock, stop, d, [] { return false; });
}

}  // namespace

JobWorker::JobWorker(JobService& service, EndpointExecutor execute, JobWorkerOptions options)
    : service_(service), execute_(std::move(execute)), options_(std::move(options)) {
  if (options_.consumer.empty()) options_.consumer = default_consumer();
}

bool JobWorker::run_once(std::stop_token stop) {
  auto entry = service_.store().claim(options_.consumer, options_.claim_wait);
  if (!entry) return false;
  service_.process(*entry, execute_, stop, options_.max_deliveries,
                   [this, e = *entry] { service_.store().touch(e, options_.consumer); });
  return true;
}

void JobWorker::run(std::stop_token stop) {
  auto last_sweep = std::chrono::steady_clock::time_point{};
  while (!stop.stop_requested()) {
    try {
      if (std::chrono::steady_clock::now() - last_sweep >= options_.sweep_interval) {
        service_.sweep();
        last_sweep = std::chrono::steady_clock::now();
      }
      run_once(stop);
    } catch (const Error& e) {
      std::fprintf(stderr, "cnai worker %s: %s (retrying)\n", options_.consumer.c_str(), e.what());
      sleep_for(stop, std::chrono::milliseconds(500));
    }
  }
}

}  // namespace cnai
