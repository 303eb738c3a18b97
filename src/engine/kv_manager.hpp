// KvManager — each sequence's block table over the BlockPool (vLLM's
// kv_cache_manager.py): finds the cached prefix a new sequence can start
// from, grows a table block by block as positions are evaluated, registers
// blocks that became full in the prefix cache, and frees a table. Not
// thread-safe: the scheduling loop alone uses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/block_pool.hpp"
#include "engine/sequence.hpp"

namespace cnai::engine {

/// Where one sequence's keys and values are: its block table, how many of
/// its positions are evaluated, and the chained hashes of its full blocks.
struct KvSlot {
  std::vector<std::int32_t> blocks;
  std::size_t computed = 0;             // positions [0, computed) are in the cache
  std::vector<std::uint64_t> hashes;    // of full blocks 0 .. hashes.size() - 1
  std::size_t registered = 0;           // full blocks offered to the prefix cache
};

class KvManager {
 public:
  /// prefix_cache false: nothing is looked up or shared (a model whose
  /// sliding-window layers rewrite a sequence's first blocks in a ring).
  KvManager(int n_blocks, int block_size, bool prefix_cache);

  int block_size() const noexcept { return pool_.block_size(); }
  int n_blocks() const noexcept { return pool_.n_blocks(); }
  const BlockPool& pool() const noexcept { return pool_; }
  bool prefix_cache() const noexcept { return prefix_cache_; }

  /// Blocks a sequence of n positions occupies.
  std::size_t blocks_for(std::size_t n) const noexcept {
    return (n + static_cast<std::size_t>(block_size()) - 1) / static_cast<std::size_t>(block_size());
  }

  /// Full blocks of seq's first n_tokens - 1 tokens found in the prefix cache
  /// (at least one token is always evaluated, for its logits). Only counts;
  /// nothing is taken.
  std::size_t cached_blocks(const Sequence& seq, KvSlot& slot) const;
  /// Free blocks left if a sequence with `hits` cached blocks took `need`
  /// more (negative: it does not fit).
  std::int64_t headroom(const Sequence& seq, KvSlot& slot, std::size_t hits, std::size_t need) const;
  /// Starts an empty slot from its first `hits` cached blocks (cached_blocks()).
  void take_prefix(const Sequence& seq, KvSlot& slot, std::size_t hits);

  /// Grows the table to hold positions [0, n); false (nothing taken) when the
  /// pool has too few free blocks.
  bool reserve(KvSlot& slot, std::size_t n);
  /// After a step: positions up to `computed` are evaluated; blocks that
  /// became full join the prefix cache.
  void advance(const Sequence& seq, KvSlot& slot, std::size_t computed);
  /// Frees the table (cached blocks stay for others until evicted).
  void release(KvSlot& slot);

  // Counters for EngineStats.
  std::uint64_t query_tokens = 0, hit_tokens = 0;

 private:
  void hash_blocks(const Sequence& seq, KvSlot& slot, std::size_t n_full) const;
  BlockPool pool_;
  bool prefix_cache_;
};

}  // namespace cnai::engine
