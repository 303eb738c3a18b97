// InMemoryResponseCache, and the router's cache keys, stored form and replay.
#include "router/response_cache.hpp"

#include <openssl/evp.h>

#include "cnai/api/json.hpp"
#include "cnai/router/response_cache.hpp"

namespace cnai {

std::optional<std::string> InMemoryResponseCache::get(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  if (it->second->expires <= std::chrono::steady_clock::now()) {
    erase_locked(it->second);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);  // most recently used
  return it->second->value;
}

void InMemoryResponseCache::put(const std::string& key, std::string value, std::chrono::milliseconds ttl) {
  const std::size_t size = key.size() + value.size();
  std::lock_guard lock(mutex_);
  if (auto it = index_.find(key); it != index_.end()) erase_locked(it->second);
  if (size > options_.max_bytes || options_.max_entries == 0 || ttl.count() <= 0) return;
  while (!lru_.empty() && (lru_.size() + 1 > options_.max_entries || bytes_ + size > options_.max_bytes)) {
    erase_locked(std::prev(lru_.end()));
    ++evictions_;
  }
  lru_.push_front(Entry{key, std::move(value), std::chrono::steady_clock::now() + ttl});
  index_[key] = lru_.begin();
  bytes_ += size;
}

void InMemoryResponseCache::erase_locked(std::list<Entry>::iterator it) {
  bytes_ -= it->key.size() + it->value.size();
  index_.erase(it->key);
  lru_.erase(it);
}

std::size_t InMemoryResponseCache::size() const {
  std::lock_guard lock(mutex_);
  return lru_.size();
}
std::size_t InMemoryResponseCache::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}
std::uint64_t InMemoryResponseCache::evictions() const {
  std::lock_guard lock(mutex_);
  return evictions_;
}

}  // namespace cnai

namespace cnai::router {
namespace {

std::string sha256_hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

// Length-prefixed, so no field's text can pass for another's.
void field(std::string& out, const std::string& v) {
  out += std::to_string(v.size());
  out += ':';
  out += v;
}

}  // namespace

bool cacheable(const ChatRequest& r) noexcept {
  return r.sampling.seed.has_value() || (r.sampling.temperature && *r.sampling.temperature == 0.0f);
}

std::string cache_tag(const ChatRequest& r, const ResponseCacheOptions& o) {
  if (o.share_across_tags) return {};
  std::string tag;
  if (!o.tag_key.empty())
    if (auto it = r.metadata.find(o.tag_key); it != r.metadata.end()) field(tag, it->second);
  tag += '|';
  if (r.user) field(tag, *r.user);
  return tag;
}

std::optional<std::string> normalised_request(const ChatRequest& request) {
  // The request's own wire form without what does not change the answer:
  // one canonical text with the field order of the codec.
  ChatRequest r = request;
  r.model.clear();
  r.stream = false;
  r.stream_include_usage = false;
  r.user.reset();
  r.metadata.clear();
  r.priority = 0;
  r.deadline.reset();
  try {
    return to_openai_json(r);
  } catch (const Error&) {
    return std::nullopt;  // a tool schema that is not JSON: the deployment will say so
  }
}

std::string cache_key(const std::string& alias, const std::string& tag, const std::string& model,
                      const std::string& normalised) {
  std::string text;
  field(text, tag);
  field(text, model);
  field(text, normalised);
  return "cnai:cache:" + alias + ":" + sha256_hex(text);
}

std::string encode_cached(const ChatResponse& response) {
  ChatResponse r = response;
  r.route.reset();
  return to_openai_json(r);
}

std::optional<ChatResponse> decode_cached(const std::string& value) {
  try {
    ChatResponse r = chat_response_from_openai_json(value);
    if (r.choices.empty()) return std::nullopt;
    return r;
  } catch (const Error&) {
    return std::nullopt;  // a store holding something else: a miss
  }
}

bool replay_stream(const ChatResponse& r, const ChunkCallback& on_chunk) {
  ChatChunk c;
  c.id = r.id;
  c.model = r.model;
  c.delta_role = Role::assistant;
  if (!on_chunk(c)) return false;
  c.delta_role.reset();
  const Choice& choice = r.choices.front();
  if (!choice.message.content.empty()) {
    c.delta_content = choice.message.content;
    if (!on_chunk(c)) return false;
    c.delta_content.clear();
  }
  for (std::size_t i = 0; i < choice.message.tool_calls.size(); ++i) {
    const ToolCall& t = choice.message.tool_calls[i];
    c.tool_calls = {ChatChunk::ToolCallDelta{static_cast<int>(i), t.id, t.name, t.arguments}};
    if (!on_chunk(c)) return false;
  }
  c.tool_calls.clear();
  c.finish_reason = choice.finish_reason == FinishReason::none ? FinishReason::stop : choice.finish_reason;
  c.usage = r.usage;
  return on_chunk(c);
}

}  // namespace cnai::router
