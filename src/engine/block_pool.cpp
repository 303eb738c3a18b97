#include "engine/block_pool.hpp"

#include <algorithm>
#include <string>

#include "cnai/core/error.hpp"

namespace cnai::engine {

std::uint64_t chain_hash(std::uint64_t parent, std::span<const std::int32_t> tokens) noexcept {
  // FNV-1a over the parent hash and the token ids, then a final mix
  // (splitmix64): cheap, and collisions are ruled out by comparing tokens.
  std::uint64_t h = 1469598103934665603ull ^ parent;
  auto mix_in = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xFF;
      h *= 1099511628211ull;
    }
  };
  mix_in(parent);
  for (std::int32_t t : tokens) mix_in(static_cast<std::uint32_t>(t));
  h += 0x9E3779B97F4A7C15ull;
  h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
  h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
  return h ^ (h >> 31);
}

BlockPool::BlockPool(int n_blocks, int block_size) : block_size_(block_size) {
  if (n_blocks < 1 || block_size < 1)
    throw Error(ErrorCode::invalid_argument, "BlockPool: need at least one block of at least one token, got " +
                                                 std::to_string(n_blocks) + " x " + std::to_string(block_size));
  blocks_.resize(static_cast<std::size_t>(n_blocks));
  for (std::int32_t b = 0; b < n_blocks; ++b) blocks_[static_cast<std::size_t>(b)].at = free_.insert(free_.end(), b);
}

void BlockPool::uncache(Block& b) {
  if (!b.hash) return;
  by_hash_.erase(*b.hash);
  b.hash.reset();
  b.tokens.clear();
}

std::optional<std::int32_t> BlockPool::allocate() {
  if (free_.empty()) return std::nullopt;
  const std::int32_t id = free_.front();
  free_.pop_front();
  Block& b = blocks_[static_cast<std::size_t>(id)];
  if (b.hash) --cached_free_;
  uncache(b);  // evicted: its prefix is gone
  b.refs = 1;
  return id;
}

std::optional<std::int32_t> BlockPool::lookup(std::uint64_t hash, std::span<const std::int32_t> tokens) const {
  const auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return std::nullopt;
  const Block& b = blocks_[static_cast<std::size_t>(it->second)];
  if (!std::equal(tokens.begin(), tokens.end(), b.tokens.begin(), b.tokens.end())) return std::nullopt;
  return it->second;
}

void BlockPool::ref(std::int32_t id) {
  Block& b = blocks_[static_cast<std::size_t>(id)];
  if (b.refs == 0) {
    free_.erase(b.at);
    if (b.hash) --cached_free_;
  }
  ++b.refs;
}

void BlockPool::release(std::int32_t id) {
  Block& b = blocks_[static_cast<std::size_t>(id)];
  if (b.refs <= 0) throw Error(ErrorCode::internal, "BlockPool: block " + std::to_string(id) + " released twice");
  if (--b.refs > 0) return;
  if (b.hash) {
    b.at = free_.insert(free_.end(), id);  // evicted last: least recently used first
    ++cached_free_;
  } else {
    b.at = free_.insert(free_.begin(), id);  // holds nothing worth keeping
  }
}

bool BlockPool::cache(std::int32_t id, std::uint64_t hash, std::span<const std::int32_t> tokens) {
  Block& b = blocks_[static_cast<std::size_t>(id)];
  if (b.hash || by_hash_.count(hash)) return false;
  b.hash = hash;
  b.tokens.assign(tokens.begin(), tokens.end());
  by_hash_.emplace(hash, id);
  return true;
}

void BlockPool::clear_cache() {
  for (Block& b : blocks_) uncache(b);
  cached_free_ = 0;
}

}  // namespace cnai::engine
