// Reading a Batch API input file: JSONL, one request a line
// ({"custom_id", "method": "POST", "url", "body"}). Hostile input never
// crashes: each bad line becomes an error naming the line and the field,
// the way OpenAI's validation reports them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cnai::server {

struct BatchInputLine {
  std::int64_t line = 0;  // 1-based
  std::string custom_id;
  std::string url;
  std::string body;  // the "body" object as compact JSON
};

struct BatchInputError {
  std::string code;     // "invalid_json_line", "missing_required_parameter", ...
  std::string message;
  std::int64_t line = 0;
  std::string param;    // the field, when one is at fault
};

struct BatchInput {
  std::vector<BatchInputLine> lines;
  std::vector<BatchInputError> errors;  // non-empty: the batch fails validation
};

struct BatchInputLimits {
  std::size_t max_lines = 50000;  // OpenAI's limit
  std::size_t max_errors = 100;   // stop listing after this many
};

/// Parses and validates every line against `endpoint` (each line's url must
/// equal it): method POST, a non-empty unique custom_id, an object body.
/// Blank lines are skipped (a trailing newline is usual).
BatchInput parse_batch_input(std::string_view content, std::string_view endpoint, const BatchInputLimits& limits = {});

/// The endpoints a batch may target.
bool is_batch_endpoint(std::string_view url);

}  // namespace cnai::server
