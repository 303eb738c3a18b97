// Sampler::sample runs once per generated token: it must not touch the heap,
// whatever the filters in use (counted with a replaced global operator new).
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include "cnai/engine/sampler.hpp"

#include "support/count_allocations.hpp"

using cnai::testing::g_allocations;
using cnai::testing::g_counting;

TEST_CASE("Sampler::sample and accept allocate nothing") {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 2.0f);
  std::vector<float> logits(49152);
  for (auto& x : logits) x = dist(rng);
  std::vector<cnai::SamplerConfig> configs(5);
  configs[4].presence_penalty = 0.5f, configs[4].penalty_last_n = -1;
  configs[0].temperature = 0.0f;
  configs[1].top_k = 40, configs[1].top_p = 0.95f, configs[1].min_p = 0.05f;
  configs[2].top_p = 0.9f;  // the bucketed nucleus over the whole vocabulary
  configs[3].repetition_penalty = 1.2f, configs[3].frequency_penalty = 0.3f, configs[3].min_p = 0.1f;
  configs[3].logit_bias = {{5, -100.0f}, {9, 2.0f}};
  for (const auto& config : configs) {
    cnai::Sampler sampler(config, 49152);
    for (int i = 0; i < 100; ++i) sampler.accept(i * 31);
    g_allocations = 0;
    g_counting = true;
    for (int rep = 0; rep < 10; ++rep) sampler.accept(sampler.sample(logits));
    for (int i = 0; i < 300; ++i) sampler.accept(i * 7);
    g_counting = false;
    CHECK(g_allocations.load() == 0);
  }
}
