// Candidate filters of the sampler, as free functions over preallocated scratch:
// top-k selection, the top-p nucleus, the min-p cut and the weighted draw.
// Candidates are token ids; s[id] is the scaled logit and w[id] = exp(s[id] - max).
#pragma once

#include <cstdint>
#include <span>
#include <utility>

namespace cnai::engine {

/// Writes the ids of the k largest finite s (ties: lower id first) to out in
/// descending order; returns how many (fewer than k if fewer are finite).
/// heap needs room for k entries.
std::size_t select_top_k(std::span<const float> s, std::size_t k,
                         std::span<std::pair<float, std::int32_t>> heap, std::span<std::int32_t> out);

/// The smallest set of candidates, by decreasing weight, whose weights add up to
/// at least top_p of the candidates' total. Writes it to out (room for every
/// candidate; must not alias cand) and returns its size. Few candidates are sorted
/// outright; many are bucketed by s so that only the bucket where the cumulative
/// mass crosses top_p is sorted. bucket_mass: the buckets; tail: room for every candidate.
std::size_t nucleus(std::span<const std::int32_t> cand, std::span<const float> s,
                    std::span<const float> w, float max_s, float top_p, std::span<double> bucket_mass,
                    std::span<std::int32_t> tail, std::span<std::int32_t> out);

/// The same nucleus over a whole vocabulary (candidate ids = positions in s and
/// w): zeroes w outside it. bucket: one entry per token; tail: room for every token.
void nucleus_dense(std::span<const float> s, std::span<float> w, float max_s, float top_p,
                   std::span<double> bucket_mass, std::span<std::uint16_t> bucket,
                   std::span<std::int32_t> tail);

/// Keeps the candidates with w >= min_p * (largest w); writes them to out
/// (may alias cand) and returns how many.
std::size_t min_p_cut(std::span<const std::int32_t> cand, std::span<const float> w, float min_p,
                      std::span<std::int32_t> out);

/// The candidate where u * (sum of weights) falls in the cumulative weights,
/// u in [0, 1); never a zero-weight candidate. -1 if every weight is zero.
/// block_sum: room for draw_blocks(cand.size()) entries.
std::int32_t draw(std::span<const std::int32_t> cand, std::span<const float> w, double u,
                  std::span<double> block_sum);
std::size_t draw_blocks(std::size_t n_candidates);

/// min_p_cut over a whole vocabulary: zeroes every w below min_p * (largest w).
void min_p_dense(std::span<float> w, float min_p);

/// draw() over a whole vocabulary (candidate ids = positions in w).
std::int32_t draw_dense(std::span<const float> w, double u, std::span<double> block_sum);

}  // namespace cnai::engine
