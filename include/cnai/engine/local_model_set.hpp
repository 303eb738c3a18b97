// LocalModelSet — several local models in one process, as one Backend: a
// request goes to the engine its `model` names, loaded on first use; every
// decoder shares one compute thread pool (their forward passes take turns);
// under a memory cap the least recently used idle engine is unloaded. Engines
// it hands out compute on its pool: they must not outlive the set.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cnai/api/backend.hpp"
#include "cnai/core/error.hpp"
#include "cnai/engine/local_engine.hpp"

namespace cnai {

class ThreadPool;

struct LocalModelEntry {
  std::string name;  // what ChatRequest::model / EmbeddingRequest::model says
  std::string path;  // its GGUF file
  LocalEngineOptions options{};  // model.threads and model.pool are the set's
};

struct LocalModelSetOptions {
  std::vector<LocalModelEntry> models;
  /// Bytes the loaded engines may take (GGUF file plus KV pool each); loading
  /// one more first unloads the least recently used idle ones. An engine in
  /// use is never unloaded, so busy engines may exceed the cap. 0: no cap.
  std::size_t memory_cap_bytes = 0;
  int threads = 0;  // the shared compute pool; <= 0: physical cores
  std::string backend_name = "local";
};

class LocalModelSet final : public Backend {
 public:
  /// Errors: invalid_argument (no models, an empty or repeated name).
  /// Nothing is loaded yet.
  explicit LocalModelSet(LocalModelSetOptions options);
  ~LocalModelSet() override;
  LocalModelSet(const LocalModelSet&) = delete;
  LocalModelSet& operator=(const LocalModelSet&) = delete;

  /// The engine serving `model` (empty: the first model), loading it if
  /// needed. Errors: not_found (no such model), those of LocalEngine::load.
  std::shared_ptr<LocalEngine> engine(const std::string& model);
  /// Names of the loaded models, most recently used first.
  std::vector<std::string> loaded() const;
  /// What the loaded engines take by the cap's measure.
  std::size_t loaded_bytes() const;
  /// The pool every decoder of the set computes on.
  ThreadPool& pool() const noexcept { return *pool_; }

  const std::string& name() const noexcept override { return options_.backend_name; }
  /// models: every name (loaded or not); local.
  BackendCapabilities capabilities() const override;
  /// Queue depth, running and wait summed over the loaded engines.
  BackendHealth health() const override;

 protected:
  ChatResponse do_chat(const ChatRequest& request, std::stop_token stop) override;
  ChatResponse do_chat_stream(const ChatRequest& request, const ChunkCallback& on_chunk,
                              std::stop_token stop) override;
  EmbeddingResponse do_embeddings(const EmbeddingRequest& request, std::stop_token stop) override;

 private:
  struct Loaded {
    std::string name;
    std::shared_ptr<LocalEngine> engine;
    std::size_t bytes = 0;
  };
  const LocalModelEntry& entry(const std::string& model) const;
  void evict_locked(const std::string& keep, std::size_t target);
  LocalModelSetOptions options_;
  std::shared_ptr<ThreadPool> pool_;
  mutable std::mutex m_;
  std::mutex load_m_;          // one load at a time
  std::list<Loaded> loaded_;   // most recently used first
};

}  // namespace cnai
