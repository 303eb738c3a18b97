#include "model/batch.hpp"

#include <algorithm>
#include <string>

#include "cnai/core/error.hpp"

namespace cnai::model {
namespace {

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorCode::invalid_argument, "batch: " + what); }

}  // namespace

std::int32_t Batch::add_sequence(std::span<const std::int32_t> blocks) {
  block_tables.push_back(blocks);
  return static_cast<std::int32_t>(block_tables.size() - 1);
}

void Batch::add(std::int32_t token, std::int32_t seq_id, std::int32_t position, bool logits) {
  tokens.push_back(token);
  seq.push_back(seq_id);
  positions.push_back(position);
  wants_logits.push_back(logits ? 1 : 0);
}

void Batch::clear() noexcept {
  tokens.clear();
  positions.clear();
  seq.clear();
  wants_logits.clear();
  block_tables.clear();
}

std::size_t Batch::n_logits() const noexcept {
  return static_cast<std::size_t>(std::count(wants_logits.begin(), wants_logits.end(), std::uint8_t{1}));
}

void check_batch(const Batch& b, int n_vocab, int block_size, int n_blocks, int max_rows) {
  const std::size_t n = b.tokens.size();
  if (n == 0) bad("no tokens given");
  if (b.positions.size() != n || b.seq.size() != n || b.wants_logits.size() != n)
    bad("tokens, positions, seq and wants_logits must have the same length");
  if (n > static_cast<std::size_t>(max_rows))
    bad(std::to_string(n) + " rows exceed the " + std::to_string(max_rows) + " the activations hold");
  for (std::size_t i = 0; i < n; ++i) {
    const std::string at = " at row " + std::to_string(i);
    if (b.tokens[i] < 0 || b.tokens[i] >= n_vocab)
      bad("token id " + std::to_string(b.tokens[i]) + at + " is outside the vocabulary [0, " +
          std::to_string(n_vocab) + ")");
    if (b.seq[i] < 0 || static_cast<std::size_t>(b.seq[i]) >= b.block_tables.size())
      bad("sequence " + std::to_string(b.seq[i]) + at + " has no block table");
    const auto& table = b.block_tables[static_cast<std::size_t>(b.seq[i])];
    const std::int64_t pos = b.positions[i];
    if (pos < 0 || pos >= static_cast<std::int64_t>(table.size()) * block_size)
      bad("position " + std::to_string(pos) + at + " is outside its block table of " +
          std::to_string(table.size()) + " blocks");
    const std::int32_t block = table[static_cast<std::size_t>(pos / block_size)];
    if (block < 0 || block >= n_blocks)
      bad("block " + std::to_string(block) + at + " is outside the cache's " + std::to_string(n_blocks));
  }
}

}  // namespace cnai::model
