// Sampler filters: top-k by a bounded heap scan (one compare per token for most
// tokens), top-p by a histogram of scaled logits so only one bucket is sorted.
#include "engine/sampler_filters.hpp"

#include <algorithm>
#include <cmath>

namespace cnai::engine {
namespace {

// Log-space span covered by the buckets: weights below exp(-kSpan) of the
// largest all share the last bucket.
constexpr float kSpan = 32.0f;
// Up to this many candidates the nucleus is found by sorting them outright.
constexpr std::size_t kSortDirectly = 256;
// Candidates per block in draw().
constexpr std::size_t kDrawBlock = 256;

// Higher value first, then lower id: a strict, deterministic order.
constexpr auto better = [](const std::pair<float, std::int32_t>& a, const std::pair<float, std::int32_t>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
};

}  // namespace

std::size_t select_top_k(std::span<const float> s, std::size_t k,
                         std::span<std::pair<float, std::int32_t>> heap, std::span<std::int32_t> out) {
  // With comparator `better`, the heap front is the worst kept entry. Ids rise
  // during the scan, so once the heap is full a new entry must be strictly
  // greater than the front's value: one float compare rejects most tokens, and
  // whole chunks of 16 are skipped with a vectorisable test.
  std::size_t size = 0;
  float threshold = -INFINITY;
  const auto offer = [&](std::size_t i) {
    const std::pair<float, std::int32_t> e{s[i], static_cast<std::int32_t>(i)};
    if (size < k) {
      heap[size++] = e;
      std::push_heap(heap.begin(), heap.begin() + size, better);
    } else {
      std::pop_heap(heap.begin(), heap.begin() + size, better);
      heap[size - 1] = e;
      std::push_heap(heap.begin(), heap.begin() + size, better);
    }
    if (size == k) threshold = heap[0].first;
  };
  constexpr std::size_t kChunk = 16;
  std::size_t i = 0;
  for (; i + kChunk <= s.size(); i += kChunk) {
    bool any = false;
    for (std::size_t j = 0; j < kChunk; ++j) any |= s[i + j] > threshold;
    if (!any) continue;
    for (std::size_t j = i; j < i + kChunk; ++j) {
      if (s[j] > threshold) offer(j);
    }
  }
  for (; i < s.size(); ++i) {
    if (s[i] > threshold) offer(i);
  }
  std::sort_heap(heap.begin(), heap.begin() + size, better);
  for (std::size_t j = 0; j < size; ++j) out[j] = heap[j].second;
  return size;
}

namespace {

// Appends candidates from `sorted` (by decreasing weight) to out[n_out...] until
// `mass` reaches target; returns the new size of out.
std::size_t take_until(std::span<std::int32_t> sorted, std::span<const float> w, double mass,
                       double target, std::span<std::int32_t> out, std::size_t n_out) {
  std::sort(sorted.begin(), sorted.end(), [&](std::int32_t a, std::int32_t b) {
    return w[a] > w[b] || (w[a] == w[b] && a < b);
  });
  for (const std::int32_t id : sorted) {
    if (mass >= target && n_out > 0) break;
    out[n_out++] = id;
    mass += w[id];
  }
  return n_out;
}

}  // namespace

std::size_t nucleus(std::span<const std::int32_t> cand, std::span<const float> s,
                    std::span<const float> w, float max_s, float top_p, std::span<double> mass,
                    std::span<std::int32_t> tail, std::span<std::int32_t> out) {
  if (cand.size() <= kSortDirectly) {
    double total = 0.0;
    for (const std::int32_t id : cand) total += w[id];
    std::copy(cand.begin(), cand.end(), tail.begin());
    return take_until(tail.first(cand.size()), w, 0.0, static_cast<double>(top_p) * total, out, 0);
  }
  const std::size_t n_buckets = mass.size();
  const float per_unit = static_cast<float>(n_buckets) / kSpan;
  const auto bucket_of = [&](std::int32_t id) {
    const float d = (max_s - s[id]) * per_unit;  // >= 0; inf for -inf logits
    return d < static_cast<float>(n_buckets - 1) ? static_cast<std::size_t>(d) : n_buckets - 1;
  };
  std::fill(mass.begin(), mass.end(), 0.0);
  for (const std::int32_t id : cand) mass[bucket_of(id)] += w[id];
  double total = 0.0;
  for (const double m : mass) total += m;
  const double target = static_cast<double>(top_p) * total;
  // The bucket where the cumulative mass (from the top) reaches the target.
  double above = 0.0;
  std::size_t cross = 0;
  while (cross + 1 < n_buckets && above + mass[cross] < target) above += mass[cross++];
  // Branch-free: on spread-out logits the bucket comparisons are unpredictable.
  std::size_t n_out = 0, n_tail = 0;
  for (const std::int32_t id : cand) {
    const std::size_t b = bucket_of(id);
    out[n_out] = id;
    tail[n_tail] = id;
    n_out += b < cross;
    n_tail += b == cross;
  }
  return take_until(tail.first(n_tail), w, above, target, out, n_out);
}

std::size_t min_p_cut(std::span<const std::int32_t> cand, std::span<const float> w, float min_p,
                      std::span<std::int32_t> out) {
  float largest = 0.0f;
  for (const std::int32_t id : cand) largest = std::max(largest, w[id]);
  const float threshold = min_p * largest;
  std::size_t n_out = 0;
  for (const std::int32_t id : cand) {
    if (w[id] >= threshold) out[n_out++] = id;
  }
  return n_out;
}

void nucleus_dense(std::span<const float> s, std::span<float> w, float max_s, float top_p,
                   std::span<double> mass, std::span<std::uint16_t> bucket, std::span<std::int32_t> tail) {
  const std::size_t n = s.size();
  const std::size_t n_buckets = mass.size();
  const float per_unit = static_cast<float>(n_buckets) / kSpan;
  const auto last = static_cast<float>(n_buckets - 1);
  for (std::size_t i = 0; i < n; ++i) {  // vectorises; -inf logits land in the last bucket
    bucket[i] = static_cast<std::uint16_t>(std::min((max_s - s[i]) * per_unit, last));
  }
  std::fill(mass.begin(), mass.end(), 0.0);
  for (std::size_t i = 0; i < n; ++i) mass[bucket[i]] += w[i];
  double total = 0.0;
  for (const double m : mass) total += m;
  const double target = static_cast<double>(top_p) * total;
  double above = 0.0;
  std::uint16_t cross = 0;
  while (cross + 1u < n_buckets && above + mass[cross] < target) above += mass[cross++];
  // Few tokens fall in the crossing bucket: skip chunks of 16 without one.
  std::size_t n_tail = 0;
  constexpr std::size_t kChunk = 16;
  std::size_t c = 0;
  for (; c + kChunk <= n; c += kChunk) {
    bool any = false;
    for (std::size_t i = 0; i < kChunk; ++i) any |= bucket[c + i] == cross;
    if (!any) continue;
    for (std::size_t i = c; i < c + kChunk; ++i) {
      if (bucket[i] == cross) tail[n_tail++] = static_cast<std::int32_t>(i);
    }
  }
  for (; c < n; ++c) {
    if (bucket[c] == cross) tail[n_tail++] = static_cast<std::int32_t>(c);
  }
  // Keep the heaviest of the crossing bucket until the target is reached, drop the rest.
  auto in_cross = tail.first(n_tail);
  std::sort(in_cross.begin(), in_cross.end(), [&](std::int32_t a, std::int32_t b) {
    return w[a] > w[b] || (w[a] == w[b] && a < b);
  });
  std::size_t kept = 0;
  for (; kept < in_cross.size() && above < target; ++kept) {  // above < target on entry
    above += w[in_cross[kept]];
  }
  for (std::size_t j = kept; j < in_cross.size(); ++j) w[in_cross[j]] = 0.0f;
  for (std::size_t i = 0; i < n; ++i) w[i] = bucket[i] > cross ? 0.0f : w[i];
}

void min_p_dense(std::span<float> w, float min_p) {
  float largest = 0.0f;
  for (const float x : w) largest = std::max(largest, x);
  const float threshold = min_p * largest;
  for (float& x : w) x = x >= threshold ? x : 0.0f;
}

std::size_t draw_blocks(std::size_t n_candidates) {
  return (n_candidates + kDrawBlock - 1) / kDrawBlock;
}

namespace {

// The draw over n candidates; weight(i) is the weight of the i-th, and the
// index found is returned (-1 if every weight is zero). Two levels so the long
// sums run as independent chains: block sums first, then a walk over the
// blocks and inside the one block holding the point.
template <class Weight>
std::int64_t draw_index(std::size_t n, Weight weight, double u, std::span<double> block_sum) {
  const std::size_t n_blocks = draw_blocks(n);
  double total = 0.0;
  for (std::size_t b = 0; b < n_blocks; ++b) {
    const std::size_t begin = b * kDrawBlock, end = std::min(n, begin + kDrawBlock);
    double lane[4] = {0.0, 0.0, 0.0, 0.0};
    std::size_t i = begin;
    for (; i + 4 <= end; i += 4) {
      for (std::size_t l = 0; l < 4; ++l) lane[l] += weight(i + l);
    }
    for (; i < end; ++i) lane[0] += weight(i);
    block_sum[b] = (lane[0] + lane[1]) + (lane[2] + lane[3]);
    total += block_sum[b];
  }
  const double point = u * total;
  double cumulative = 0.0;
  std::size_t b = 0;
  while (b + 1 < n_blocks && point >= cumulative + block_sum[b]) cumulative += block_sum[b++];
  // Normally found in block b; rounding may carry the walk into later blocks.
  for (std::size_t i = b * kDrawBlock; i < n; ++i) {
    const float x = weight(i);
    if (x <= 0.0f) continue;
    cumulative += x;
    if (point < cumulative) return static_cast<std::int64_t>(i);
  }
  for (std::size_t i = n; i-- > 0;) {
    if (weight(i) > 0.0f) return static_cast<std::int64_t>(i);  // the point sits at the very end
  }
  return -1;
}

}  // namespace

std::int32_t draw(std::span<const std::int32_t> cand, std::span<const float> w, double u,
                  std::span<double> block_sum) {
  const auto i = draw_index(cand.size(), [&](std::size_t j) { return w[cand[j]]; }, u, block_sum);
  return i < 0 ? -1 : cand[static_cast<std::size_t>(i)];
}

std::int32_t draw_dense(std::span<const float> w, double u, std::span<double> block_sum) {
  return static_cast<std::int32_t>(draw_index(w.size(), [&](std::size_t j) { return w[j]; }, u, block_sum));
}

}  // namespace cnai::engine
