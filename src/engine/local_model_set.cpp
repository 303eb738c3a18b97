// LocalModelSet: lazy loading, the shared pool, LRU unloading, and routing.
#include "cnai/engine/local_model_set.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include "cnai/core/thread_pool.hpp"

namespace cnai {

LocalModelSet::LocalModelSet(LocalModelSetOptions options) : options_(std::move(options)) {
  if (options_.models.empty()) throw Error(ErrorCode::invalid_argument, "LocalModelSet: no models given");
  std::set<std::string> names;
  for (const auto& m : options_.models) {
    if (m.name.empty()) throw Error(ErrorCode::invalid_argument, "LocalModelSet: a model without a name (" + m.path + ")");
    if (!names.insert(m.name).second)
      throw Error(ErrorCode::invalid_argument, "LocalModelSet: the name '" + m.name + "' is given twice");
  }
  pool_ = std::make_shared<ThreadPool>(options_.threads);
}

LocalModelSet::~LocalModelSet() = default;

const LocalModelEntry& LocalModelSet::entry(const std::string& model) const {
  if (model.empty()) return options_.models.front();
  for (const auto& m : options_.models)
    if (m.name == model) return m;
  std::string known;
  for (const auto& m : options_.models) known += (known.empty() ? "" : ", ") + m.name;
  throw Error(ErrorCode::not_found, "no local model named '" + model + "' (have: " + known + ")");
}

// Unloads least recently used engines nobody else holds until the rest fit
// the cap (`keep` stays). Their memory goes when the last handle does.
void LocalModelSet::evict_locked(const std::string& keep, std::size_t target) {
  std::size_t total = 0;
  for (const auto& l : loaded_) total += l.bytes;
  for (auto it = loaded_.end(); it != loaded_.begin() && total > target;) {
    --it;
    if (it->name == keep || it->engine.use_count() > 1) continue;
    total -= it->bytes;
    it = loaded_.erase(it);
  }
}

std::shared_ptr<LocalEngine> LocalModelSet::engine(const std::string& model) {
  const LocalModelEntry& e = entry(model);
  auto find = [&]() -> std::shared_ptr<LocalEngine> {
    std::lock_guard lock(m_);
    const auto it = std::find_if(loaded_.begin(), loaded_.end(), [&](const Loaded& l) { return l.name == e.name; });
    if (it == loaded_.end()) return nullptr;
    loaded_.splice(loaded_.begin(), loaded_, it);  // most recently used
    auto engine = it->engine;
    if (options_.memory_cap_bytes > 0) evict_locked(e.name, options_.memory_cap_bytes);  // others may be idle now
    return engine;
  };
  if (auto hit = find()) return hit;
  std::lock_guard load_lock(load_m_);
  if (auto hit = find()) return hit;  // loaded while we waited
  {
    // Make room first, so the cap holds while the new weights page in.
    std::lock_guard lock(m_);
    std::error_code ec;
    const auto file = static_cast<std::size_t>(std::filesystem::file_size(e.path, ec));
    const std::size_t cap = options_.memory_cap_bytes;
    if (cap > 0 && !ec) evict_locked(e.name, file < cap ? cap - file : 0);
  }
  LocalEngineOptions lo = e.options;
  lo.model.pool = pool_.get();
  lo.model.threads = pool_->size();
  if (lo.backend_name == LocalEngineOptions{}.backend_name) lo.backend_name = options_.backend_name;
  auto engine = LocalEngine::load(e.path, lo);
  std::error_code ec;
  std::size_t bytes = static_cast<std::size_t>(std::filesystem::file_size(e.path, ec));
  if (ec) bytes = 0;
  if (!engine->is_embedding_model()) bytes += engine->stats().kv_pool_bytes;
  std::lock_guard lock(m_);
  loaded_.push_front(Loaded{e.name, engine, bytes});
  if (options_.memory_cap_bytes > 0) evict_locked(e.name, options_.memory_cap_bytes);
  return engine;
}

std::vector<std::string> LocalModelSet::loaded() const {
  std::lock_guard lock(m_);
  std::vector<std::string> names;
  for (const auto& l : loaded_) names.push_back(l.name);
  return names;
}

std::size_t LocalModelSet::loaded_bytes() const {
  std::lock_guard lock(m_);
  std::size_t total = 0;
  for (const auto& l : loaded_) total += l.bytes;
  return total;
}

BackendCapabilities LocalModelSet::capabilities() const {
  BackendCapabilities c;
  for (const auto& m : options_.models) c.models.push_back(m.name);
  c.streaming = true;
  c.local = true;
  c.embeddings = true;  // the embedding models among them; others say unsupported
  return c;
}

BackendHealth LocalModelSet::health() const {
  std::vector<std::shared_ptr<LocalEngine>> engines;
  {
    std::lock_guard lock(m_);
    for (const auto& l : loaded_) engines.push_back(l.engine);
  }
  BackendHealth h;
  for (const auto& e : engines) {
    const BackendHealth one = e->health();
    h.queue_depth += one.queue_depth;
    h.running += one.running;
    h.estimated_wait_ms = std::max(h.estimated_wait_ms, one.estimated_wait_ms);
    if (one.status != HealthStatus::healthy) {
      h.status = one.status;
      h.detail = one.detail;
    }
  }
  return h;
}

ChatResponse LocalModelSet::do_chat(const ChatRequest& request, std::stop_token stop) {
  return engine(request.model)->chat(request, std::move(stop));
}

ChatResponse LocalModelSet::do_chat_stream(const ChatRequest& request, const ChunkCallback& on_chunk,
                                           std::stop_token stop) {
  return engine(request.model)->chat_stream(request, on_chunk, std::move(stop));
}

EmbeddingResponse LocalModelSet::do_embeddings(const EmbeddingRequest& request, std::stop_token stop) {
  return engine(request.model)->embeddings(request, std::move(stop));
}

}  // namespace cnai
