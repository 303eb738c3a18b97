// EmbeddingEngine: loading, the Backend calls, and the batcher's model function
// (one encoder pass over every input the batcher hands it).
#include "cnai/engine/embedding_engine.hpp"

#include <algorithm>
#include <filesystem>
#include <future>

#include "cnai/core/error.hpp"
#include "cnai/gguf/gguf.hpp"
#include "cnai/text/tokenizer.hpp"
#include "core/utf8.hpp"

namespace cnai {
namespace {

using Ids = std::vector<std::int32_t>;
using Vector = std::vector<float>;
using Batcher = DynamicBatcher<Ids, Vector>;

[[noreturn]] void bad_input(std::size_t index, const std::string& why) {
  throw Error(ErrorCode::invalid_argument, "input[" + std::to_string(index) + "] " + why);
}

void check_utf8(std::string_view text, std::size_t index) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = core::utf8_valid_length(text, i);
    if (n == 0) bad_input(index, "is not valid UTF-8 (at byte " + std::to_string(i) + ")");
    i += n;
  }
}

}  // namespace

DynamicBatcherOptions default_embedding_batching() {
  DynamicBatcherOptions o;
  o.max_batch_size = 64;
  o.max_queue_delay = std::chrono::microseconds(0);
  o.max_batch_tokens = 8192;
  o.group_by_length = true;
  o.name = "embedding batcher";
  return o;
}

struct EmbeddingEngine::Impl {
  Impl(EmbeddingEngineOptions o, std::shared_ptr<EncoderModel> m, Tokenizer t)
      : options(std::move(o)), model(std::move(m)), tokenizer(std::move(t)),
        batcher(options.batching, [this](std::span<const Ids* const> in, std::span<Vector> out) { run(in, out); }) {}

  void run(std::span<const Ids* const> inputs, std::span<Vector> outputs) const {
    std::vector<std::span<const std::int32_t>> seqs;
    seqs.reserve(inputs.size());
    for (const Ids* ids : inputs) seqs.emplace_back(*ids);
    const auto D = static_cast<std::size_t>(model->config().n_embd);
    std::vector<float> flat(inputs.size() * D);
    model->embed(seqs, flat);
    for (std::size_t i = 0; i < inputs.size(); ++i)
      outputs[i].assign(flat.begin() + static_cast<std::ptrdiff_t>(i * D),
                        flat.begin() + static_cast<std::ptrdiff_t>((i + 1) * D));
  }

  EmbeddingEngineOptions options;
  std::shared_ptr<EncoderModel> model;
  Tokenizer tokenizer;
  std::string name;
  Batcher batcher;  // last: stopped first, while the model it calls is still there
};

EmbeddingEngine::EmbeddingEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EmbeddingEngine::~EmbeddingEngine() = default;

std::shared_ptr<EmbeddingEngine> EmbeddingEngine::load(const std::string& path, const EmbeddingEngineOptions& options) {
  auto model = EncoderModel::load(path, options.encoder);
  Tokenizer tokenizer = Tokenizer::from_gguf(path);
  if (tokenizer.vocab_size() != model->config().n_vocab)
    throw Error(ErrorCode::model_format, "the tokenizer has " + std::to_string(tokenizer.vocab_size()) +
                                             " tokens but the model's embedding table has " +
                                             std::to_string(model->config().n_vocab));
  auto impl = std::make_unique<Impl>(options, std::move(model), std::move(tokenizer));
  impl->name = impl->model->config().name.empty() ? std::filesystem::path(path).stem().string()
                                                   : impl->model->config().name;
  return std::shared_ptr<EmbeddingEngine>(new EmbeddingEngine(std::move(impl)));
}

std::vector<std::int32_t> EmbeddingEngine::tokenize(std::string_view text, bool truncate, std::size_t index) const {
  if (text.empty()) bad_input(index, "is an empty string");
  check_utf8(text, index);
  // [CLS] ... [SEP] as the vocabulary says; special-token text ("[SEP]") is read as the
  // token, as Hugging Face and llama.cpp read it.
  EncodeOptions eo;
  eo.parse_special = true;
  Ids ids = impl_->tokenizer.encode(text, eo);
  const auto limit = static_cast<std::size_t>(n_ctx());
  if (ids.size() <= limit) return ids;
  if (!truncate)
    throw Error(ErrorCode::context_overflow, "input[" + std::to_string(index) + "] has " + std::to_string(ids.size()) +
                                                 " tokens, more than the model's context of " +
                                                 std::to_string(limit) + " (set truncate to cut it)");
  // Cut the text's tokens, keep the closing special token (as Hugging Face's truncation does).
  const bool closes = impl_->tokenizer.vocab().add_eos && ids.back() == impl_->tokenizer.eos();
  const std::int32_t last = ids.back();
  ids.resize(limit);
  if (closes) ids.back() = last;
  return ids;
}

EmbeddingResponse EmbeddingEngine::do_embeddings(const EmbeddingRequest& request, std::stop_token stop) {
  const EncoderConfig& c = impl_->model->config();
  if (request.dimensions && *request.dimensions != c.n_embd)
    throw Error(ErrorCode::unsupported, "dimensions " + std::to_string(*request.dimensions) + ": " + impl_->name +
                                            " gives " + std::to_string(c.n_embd) + "-dimensional embeddings only");
  std::vector<Ids> inputs;
  inputs.reserve(request.input.size());
  for (std::size_t i = 0; i < request.input.size(); ++i) inputs.push_back(tokenize(request.input[i], request.truncate, i));

  // One stop for all of this request's inputs: the caller's, or our own when a
  // later input is refused (the earlier ones then leave the queue).
  std::stop_source all;
  std::stop_callback forward(stop, [&all] { all.request_stop(); });
  BatchRequestOptions ro;
  ro.priority = std::clamp(request.priority, 0, impl_->batcher.options().priority_levels);
  ro.deadline = request.deadline;
  ro.cancel = all.get_token();
  EmbeddingResponse response;
  response.model = request.model.empty() ? impl_->name : request.model;
  response.backend = impl_->options.backend_name;
  std::vector<std::future<Vector>> pending;
  pending.reserve(inputs.size());
  std::exception_ptr first_error;
  for (Ids& ids : inputs) {
    response.usage.prompt_tokens += static_cast<std::int64_t>(ids.size());
    ro.length = ids.size();
    try {
      pending.push_back(impl_->batcher.submit(std::move(ids), ro));
    } catch (...) {
      first_error = std::current_exception();
      all.request_stop();
      break;
    }
  }
  for (auto& f : pending) {
    try {
      Vector v = f.get();
      if (!first_error) response.data.push_back(std::move(v));
    } catch (...) {
      if (!first_error) first_error = std::current_exception();
      all.request_stop();
    }
  }
  if (stop.stop_requested()) throw Error(ErrorCode::cancelled, impl_->options.backend_name + ": embeddings cancelled");
  if (first_error) std::rethrow_exception(first_error);
  response.usage.total_tokens = response.usage.prompt_tokens;
  return response;
}

ChatResponse EmbeddingEngine::do_chat(const ChatRequest&, std::stop_token) {
  throw Error(ErrorCode::unsupported, impl_->name + " is an embedding model: it does not chat");
}

ChatResponse EmbeddingEngine::do_chat_stream(const ChatRequest&, const ChunkCallback&, std::stop_token) {
  throw Error(ErrorCode::unsupported, impl_->name + " is an embedding model: it does not chat");
}

const std::string& EmbeddingEngine::name() const noexcept { return impl_->options.backend_name; }

BackendCapabilities EmbeddingEngine::capabilities() const {
  BackendCapabilities c;
  c.models = {impl_->name};
  c.context_window = n_ctx();
  c.streaming = false;
  c.embeddings = true;
  c.local = true;
  return c;
}

BackendHealth EmbeddingEngine::health() const {
  const DynamicBatcherStats s = impl_->batcher.stats();
  BackendHealth h;
  h.queue_depth = static_cast<int>(s.queued);
  h.running = static_cast<int>(s.running);
  return h;
}

const EncoderModel& EmbeddingEngine::model() const noexcept { return *impl_->model; }
const Tokenizer& EmbeddingEngine::tokenizer() const noexcept { return impl_->tokenizer; }
const std::string& EmbeddingEngine::model_name() const noexcept { return impl_->name; }
int EmbeddingEngine::n_ctx() const noexcept { return impl_->model->config().n_ctx_train; }
DynamicBatcherStats EmbeddingEngine::batcher_stats() const { return impl_->batcher.stats(); }

}  // namespace cnai
