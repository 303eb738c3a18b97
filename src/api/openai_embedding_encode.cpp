// EmbeddingResponse -> OpenAI Embeddings response body (for the CLI and the server).
#include <boost/json.hpp>

#include "cnai/api/json.hpp"

namespace cnai {

std::string to_openai_json(const EmbeddingResponse& r) {
  namespace bj = boost::json;
  bj::array data;
  data.reserve(r.data.size());
  for (std::size_t i = 0; i < r.data.size(); ++i) {
    bj::array v;
    v.reserve(r.data[i].size());
    for (float x : r.data[i]) v.push_back(static_cast<double>(x));
    data.push_back(bj::object{{"object", "embedding"}, {"index", i}, {"embedding", std::move(v)}});
  }
  const bj::object usage{{"prompt_tokens", r.usage.prompt_tokens}, {"total_tokens", r.usage.total_tokens}};
  bj::object body{{"object", "list"}, {"data", std::move(data)}, {"model", r.model}, {"usage", usage}};
  if (!r.backend.empty()) body["cnai"] = bj::object{{"backend", r.backend}};
  return bj::serialize(body);
}

}  // namespace cnai
