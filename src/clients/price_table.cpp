// Built-in model prices (USD per million tokens), from the providers' public
// price lists as remembered as of mid-2025. Defaults only: override with set().
#include <utility>

#include "cnai/clients/pricing.hpp"

namespace cnai {
namespace {

struct DefaultPrice {
  const char* model;
  ModelPrice price;
};

constexpr DefaultPrice kDefaults[] = {
    // OpenAI
    {"gpt-4o", {2.50, 10.00, 1.25}},
    {"gpt-4o-mini", {0.15, 0.60, 0.075}},
    {"gpt-4.1", {2.00, 8.00, 0.50}},
    {"gpt-4.1-mini", {0.40, 1.60, 0.10}},
    {"gpt-4.1-nano", {0.10, 0.40, 0.025}},
    {"o1", {15.00, 60.00, 7.50}},
    {"o3", {2.00, 8.00, 0.50}},
    {"o3-mini", {1.10, 4.40, 0.55}},
    {"o4-mini", {1.10, 4.40, 0.275}},
    {"gpt-4-turbo", {10.00, 30.00, -1}},
    {"gpt-3.5-turbo", {0.50, 1.50, -1}},
    {"text-embedding-3-small", {0.02, 0.0, -1}},
    {"text-embedding-3-large", {0.13, 0.0, -1}},
    {"text-embedding-ada-002", {0.10, 0.0, -1}},
    // Anthropic (cached = cache read price)
    {"claude-3-5-sonnet", {3.00, 15.00, 0.30}},
    {"claude-3-7-sonnet", {3.00, 15.00, 0.30}},
    {"claude-sonnet-4", {3.00, 15.00, 0.30}},
    {"claude-3-5-haiku", {0.80, 4.00, 0.08}},
    {"claude-3-haiku", {0.25, 1.25, 0.03}},
    {"claude-3-opus", {15.00, 75.00, 1.50}},
    {"claude-opus-4", {15.00, 75.00, 1.50}},
};

}  // namespace

PriceTable::PriceTable(const PriceTable& other) {
  std::lock_guard lock(other.mutex_);
  prices_ = other.prices_;
}

PriceTable& PriceTable::operator=(const PriceTable& other) {
  if (this == &other) return *this;
  std::scoped_lock lock(mutex_, other.mutex_);
  prices_ = other.prices_;
  return *this;
}

PriceTable PriceTable::with_defaults() {
  PriceTable t;
  for (const auto& d : kDefaults) t.prices_.emplace(d.model, d.price);
  return t;
}

void PriceTable::set(const std::string& model, ModelPrice price) {
  std::lock_guard lock(mutex_);
  prices_[model] = price;
}

std::optional<ModelPrice> PriceTable::find(std::string_view model) const {
  std::lock_guard lock(mutex_);
  if (auto it = prices_.find(model); it != prices_.end()) return it->second;
  std::optional<ModelPrice> best;
  std::size_t best_len = 0;
  for (const auto& [name, price] : prices_) {
    bool prefix = model.size() > name.size() && model.compare(0, name.size(), name) == 0 && model[name.size()] == '-';
    if (prefix && name.size() > best_len) {
      best = price;
      best_len = name.size();
    }
  }
  return best;
}

double PriceTable::cost_usd(std::string_view model, const Usage& usage) const {
  auto price = find(model);
  if (!price) return 0.0;
  double cached_rate = price->cached_input_per_million >= 0 ? price->cached_input_per_million : price->input_per_million;
  auto cached = std::min(usage.cached_prompt_tokens, usage.prompt_tokens);
  double uncached = static_cast<double>(usage.prompt_tokens - cached);
  return (uncached * price->input_per_million + static_cast<double>(cached) * cached_rate +
          static_cast<double>(usage.completion_tokens) * price->output_per_million) / 1e6;
}

}  // namespace cnai
