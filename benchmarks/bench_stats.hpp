// Percentiles of per-iteration latency samples, for the p50/p99 counters of
// bench_openai_client and bench_router.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace cnai::bench {

/// The q-quantile (q in [0, 1]) of `samples` by nearest rank, 0 when there are
/// none. Sorts `samples` in place.
inline double percentile(std::vector<double>& samples, double q) {
  if (samples.empty()) return 0.0;
  std::sort(samples.begin(), samples.end());
  const auto index = static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1) + 0.5);
  return samples[std::min(index, samples.size() - 1)];
}

}  // namespace cnai::bench
