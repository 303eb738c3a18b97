// Prices of well-known cloud models (USD per million tokens) and the cost of
// a Usage. The built-in table is a default taken from public price lists as of
// kPricesAsOf; prices change, so override them with PriceTable::set. Each
// client takes its table in ClientCommonOptions::prices.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "cnai/api/types.hpp"

namespace cnai {

struct ModelPrice {
  double input_per_million = 0;
  double output_per_million = 0;
  /// Price of cached prompt tokens; negative means "same as input".
  double cached_input_per_million = -1;
};

/// The date the built-in default prices were taken.
inline constexpr std::string_view kPricesAsOf = "2025-06 (defaults; check the providers' pages)";

/// Thread-safe model -> price map. Lookup is exact, else the longest known
/// prefix followed by '-' (so "gpt-4o-2024-08-06" prices as "gpt-4o").
class PriceTable {
 public:
  PriceTable() = default;
  PriceTable(const PriceTable& other);
  PriceTable& operator=(const PriceTable& other);

  /// A table filled with the built-in defaults.
  static PriceTable with_defaults();

  void set(const std::string& model, ModelPrice price);
  std::optional<ModelPrice> find(std::string_view model) const;

  /// Cost in USD of `usage` for `model`; 0 when the model has no price.
  double cost_usd(std::string_view model, const Usage& usage) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, ModelPrice, std::less<>> prices_;
};

}  // namespace cnai
