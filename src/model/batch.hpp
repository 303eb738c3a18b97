// Batch — the tokens one forward pass evaluates, as llama.cpp's llama_batch:
// each token with its sequence, its position in that sequence and whether its
// logits are wanted. A sequence is an index into the batch's block tables
// (where its keys and values live in the paged KvCache); the tokens of several
// sequences, prompt chunks and decode steps alike, share one pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace cnai::model {

struct Batch {
  std::vector<std::int32_t> tokens;
  std::vector<std::int32_t> positions;
  std::vector<std::int32_t> seq;           // index into block_tables
  std::vector<std::uint8_t> wants_logits;  // 1: this row's logits are returned
  std::vector<std::span<const std::int32_t>> block_tables;

  /// Registers a sequence's block table (it must outlive the forward pass)
  /// and returns its id in this batch.
  std::int32_t add_sequence(std::span<const std::int32_t> blocks);
  void add(std::int32_t token, std::int32_t seq_id, std::int32_t position, bool logits);
  void clear() noexcept;

  std::size_t size() const noexcept { return tokens.size(); }
  bool empty() const noexcept { return tokens.empty(); }
  std::size_t n_logits() const noexcept;
};

/// Error(invalid_argument) naming the row: a token outside [0, n_vocab), a
/// sequence id without a block table, a position outside its block table or
/// a block outside [0, n_blocks), mismatched column lengths, more than
/// max_rows rows, or no rows at all.
void check_batch(const Batch& batch, int n_vocab, int block_size, int n_blocks, int max_rows);

}  // namespace cnai::model
