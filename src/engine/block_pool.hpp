// BlockPool — owns the KV cache's blocks: which are free, how many sequences
// reference each, and the prefix cache (vLLM's block_pool.py). A full block is
// known by a hash chained from its parent block's hash and its own tokens, so
// equal hashes mean equal prefixes; blocks nobody references stay cached and
// are handed out again least recently used first. Not thread-safe: the
// scheduling loop alone uses it.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace cnai::engine {

/// Hash of a full block: its parent's hash (0 for the first block) and its tokens.
std::uint64_t chain_hash(std::uint64_t parent, std::span<const std::int32_t> tokens) noexcept;

class BlockPool {
 public:
  BlockPool(int n_blocks, int block_size);

  int n_blocks() const noexcept { return static_cast<int>(blocks_.size()); }
  int block_size() const noexcept { return block_size_; }
  /// Blocks no sequence references (cached ones included: they can be evicted).
  int n_free() const noexcept { return static_cast<int>(free_.size()); }
  /// Free blocks that still hold a cached prefix.
  int n_cached_free() const noexcept { return cached_free_; }
  /// Blocks registered in the prefix cache (referenced or not).
  int n_cached() const noexcept { return static_cast<int>(by_hash_.size()); }

  /// A free block with one reference, evicting the least recently freed cached
  /// block if it must; nullopt when every block is referenced.
  std::optional<std::int32_t> allocate();
  /// The cached block holding exactly these tokens after `parent`, or nullopt.
  std::optional<std::int32_t> lookup(std::uint64_t hash, std::span<const std::int32_t> tokens) const;
  /// One more reference to a block (a prefix hit); a free one leaves the free list.
  void ref(std::int32_t block);
  /// Drops a reference; at zero the block is free (cached blocks last in line
  /// for reuse, uncached ones first).
  void release(std::int32_t block);
  /// Registers a referenced, full block under hash (its tokens kept to rule out
  /// collisions). False when another block already holds this prefix.
  bool cache(std::int32_t block, std::uint64_t hash, std::span<const std::int32_t> tokens);
  /// Forgets every cached prefix (blocks stay allocated as they are).
  void clear_cache();

  int refs(std::int32_t block) const noexcept { return blocks_[static_cast<std::size_t>(block)].refs; }

 private:
  struct Block {
    int refs = 0;
    std::optional<std::uint64_t> hash;
    std::vector<std::int32_t> tokens;   // when cached
    std::list<std::int32_t>::iterator at;  // position in free_ when refs == 0
  };
  void uncache(Block& b);
  int block_size_;
  std::vector<Block> blocks_;
  std::list<std::int32_t> free_;  // front: next to hand out
  int cached_free_ = 0;
  std::unordered_map<std::uint64_t, std::int32_t> by_hash_;
};

}  // namespace cnai::engine
