// LocalEngine's embeddings: delegated to its EmbeddingEngine (the model itself
// when it is an encoder, or the one named by LocalEngineOptions::embedding_model).
#include "cnai/core/error.hpp"
#include "cnai/engine/embedding_engine.hpp"
#include "cnai/engine/local_engine.hpp"

namespace cnai {

bool LocalEngine::is_embedding_model() const noexcept { return impl_ == nullptr; }

const EmbeddingEngine* LocalEngine::embedding_engine() const noexcept { return embedder_.get(); }

void LocalEngine::require_decoder(const char* what) const {
  if (!impl_)
    throw Error(ErrorCode::unsupported, std::string(what) + ": " + embedder_->model_name() +
                                            " is an embedding model; it serves embeddings only");
}

EmbeddingResponse LocalEngine::do_embeddings(const EmbeddingRequest& request, std::stop_token stop) {
  if (!embedder_)
    throw Error(ErrorCode::unsupported, model_name() + " is a chat model and no embedding model is loaded beside it "
                                                       "(LocalEngineOptions::embedding_model)");
  return embedder_->embeddings(request, std::move(stop));
}

}  // namespace cnai
