// JobWorker — takes entries off a JobStore's queue and runs them through a
// JobService until stopped. `cnai worker` runs one (or several) per process;
// `cnai serve` runs some in-process unless told not to.
#pragma once

#include <chrono>
#include <stop_token>
#include <string>

#include "cnai/core/error.hpp"
#include "cnai/server/job_service.hpp"

namespace cnai {

struct JobWorkerOptions {
  std::string consumer;  // unique per worker; empty: host-pid-counter
  /// An entry delivered more often than this (its workers died on it) is
  /// answered with an error line instead of being run again.
  int max_deliveries = 3;
  std::chrono::milliseconds claim_wait{500};
  std::chrono::milliseconds sweep_interval{2000};
};

class JobWorker {
 public:
  JobWorker(JobService& service, EndpointExecutor execute, JobWorkerOptions options = {});
  /// Claims and processes entries until `stop`; sweeps between them. Store
  /// outages are retried (logged to stderr) rather than ending the loop.
  void run(std::stop_token stop);
  /// Processes at most one entry (waiting up to claim_wait); true if it did.
  bool run_once(std::stop_token stop = {});
  const std::string& consumer() const { return options_.consumer; }

 private:
  JobService& service_;
  EndpointExecutor execute_;
  JobWorkerOptions options_;
};

}  // namespace cnai
