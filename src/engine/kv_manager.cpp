#include "engine/kv_manager.hpp"

#include <algorithm>

namespace cnai::engine {
namespace {

// Block j's tokens: positions [j * bs, (j + 1) * bs) of the sequence.
std::vector<std::int32_t>& block_tokens(const Sequence& seq, std::size_t j, std::size_t bs) {
  thread_local std::vector<std::int32_t> tokens;
  tokens.resize(bs);
  for (std::size_t i = 0; i < bs; ++i) tokens[i] = seq.token_at(j * bs + i);
  return tokens;
}

}  // namespace

KvManager::KvManager(int n_blocks, int block_size, bool prefix_cache)
    : pool_(n_blocks, block_size), prefix_cache_(prefix_cache) {}

void KvManager::hash_blocks(const Sequence& seq, KvSlot& slot, std::size_t n_full) const {
  const auto bs = static_cast<std::size_t>(block_size());
  for (std::size_t j = slot.hashes.size(); j < n_full; ++j) {
    const std::uint64_t parent = j == 0 ? 0 : slot.hashes[j - 1];
    slot.hashes.push_back(chain_hash(parent, block_tokens(seq, j, bs)));
  }
}

std::size_t KvManager::cached_blocks(const Sequence& seq, KvSlot& slot) const {
  if (!prefix_cache_) return 0;
  const auto bs = static_cast<std::size_t>(block_size());
  const std::size_t n_full = (seq.n_tokens() - 1) / bs;  // the last token is always evaluated
  hash_blocks(seq, slot, n_full);
  std::size_t hits = 0;
  while (hits < n_full && pool_.lookup(slot.hashes[hits], block_tokens(seq, hits, bs))) ++hits;
  return hits;
}

std::int64_t KvManager::headroom(const Sequence& seq, KvSlot& slot, std::size_t hits, std::size_t need) const {
  const auto bs = static_cast<std::size_t>(block_size());
  std::int64_t free = pool_.n_free();
  for (std::size_t j = 0; j < hits; ++j)
    if (pool_.refs(*pool_.lookup(slot.hashes[j], block_tokens(seq, j, bs))) == 0) --free;
  return free - static_cast<std::int64_t>(need);
}

void KvManager::take_prefix(const Sequence& seq, KvSlot& slot, std::size_t hits) {
  const auto bs = static_cast<std::size_t>(block_size());
  slot.blocks.clear();
  for (std::size_t j = 0; j < hits; ++j) {
    const std::int32_t b = *pool_.lookup(slot.hashes[j], block_tokens(seq, j, bs));
    pool_.ref(b);
    slot.blocks.push_back(b);
  }
  slot.computed = hits * bs;
  slot.registered = hits;  // already in the cache
  if (prefix_cache_) {
    query_tokens += seq.n_tokens() - 1;
    hit_tokens += slot.computed;
  }
}

bool KvManager::reserve(KvSlot& slot, std::size_t n) {
  const std::size_t want = blocks_for(n);
  if (want <= slot.blocks.size()) return true;
  if (static_cast<std::size_t>(pool_.n_free()) < want - slot.blocks.size()) return false;
  while (slot.blocks.size() < want) slot.blocks.push_back(*pool_.allocate());
  return true;
}

void KvManager::advance(const Sequence& seq, KvSlot& slot, std::size_t computed) {
  slot.computed = computed;
  if (!prefix_cache_) return;
  const auto bs = static_cast<std::size_t>(block_size());
  const std::size_t n_full = std::min(computed / bs, slot.blocks.size());
  hash_blocks(seq, slot, n_full);
  for (; slot.registered < n_full; ++slot.registered) {
    const std::size_t j = slot.registered;
    // A block another sequence already holds under this hash stays private.
    pool_.cache(slot.blocks[j], slot.hashes[j], block_tokens(seq, j, bs));
  }
}

void KvManager::release(KvSlot& slot) {
  // Last blocks first, so a chain's tail is evicted before its head.
  for (auto it = slot.blocks.rbegin(); it != slot.blocks.rend(); ++it) pool_.release(*it);
  slot.blocks.clear();
  slot.computed = 0;
  slot.registered = 0;
}

}  // namespace cnai::engine
