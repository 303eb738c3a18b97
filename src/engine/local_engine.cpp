// LocalEngine: loading, prompt rendering and tokenization, and the chat calls
// that map ChatRequest onto the token loop and back to ChatResponse/ChatChunk.
#include "cnai/engine/local_engine.hpp"

#include <chrono>
#include <filesystem>

#include "cnai/core/error.hpp"
#include "cnai/engine/embedding_engine.hpp"
#include "cnai/gguf/gguf.hpp"
#include "engine/engine_state.hpp"

namespace cnai {
namespace {

ChatTemplate load_template(const GgufReader& gguf, const LocalEngineOptions& options) {
  std::string source = options.chat_template;
  if (source.empty()) source = gguf.find_string("tokenizer.chat_template").value_or("");
  if (source.empty()) {
    if (options.chatml_fallback) return ChatTemplate::chatml();
    throw Error(ErrorCode::model_format,
                "the model has no tokenizer.chat_template; pass a template or enable the ChatML fallback");
  }
  try {
    return ChatTemplate::parse(source);
  } catch (const Error& e) {
    if (options.chatml_fallback) return ChatTemplate::chatml();
    throw Error(e.code(), std::string("chat template: ") + e.what());
  }
}

std::string special_text(const Tokenizer& tok, std::int32_t id) {
  return id >= 0 && id < tok.vocab_size() ? tok.token_to_piece(id, true) : std::string();
}

void check_chat_request(const ChatRequest& request) {
  if (request.messages.empty()) throw Error(ErrorCode::invalid_argument, "messages must hold at least one message");
  if (request.response_format && request.response_format->type != "text")
    throw Error(ErrorCode::unsupported,
                "response_format " + request.response_format->type + " is not supported by the local engine");
}

// An embedding engine on the same threads and under the same backend name.
std::shared_ptr<EmbeddingEngine> load_embedder(const std::string& path, const LocalEngineOptions& options) {
  EmbeddingEngineOptions eo = options.embedding;
  if (eo.encoder.threads <= 0) eo.encoder.threads = options.model.threads;
  if (!options.model.repack) eo.encoder.repack = false;
  eo.backend_name = options.backend_name;
  return EmbeddingEngine::load(path, eo);
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

LocalEngine::LocalEngine(std::unique_ptr<Impl> impl, std::shared_ptr<EmbeddingEngine> embedder)
    : impl_(std::move(impl)), embedder_(std::move(embedder)) {}
LocalEngine::~LocalEngine() = default;

std::shared_ptr<LocalEngine> LocalEngine::load(const std::string& path, const LocalEngineOptions& options) {
  const GgufReader gguf = GgufReader::open(path);
  if (EncoderModel::is_encoder_architecture(gguf.find_string("general.architecture").value_or("")))
    return std::shared_ptr<LocalEngine>(new LocalEngine(nullptr, load_embedder(path, options)));
  Tokenizer tokenizer = Tokenizer::from_gguf(gguf);
  ChatTemplate tmpl = load_template(gguf, options);
  auto model = Model::load(path, options.model);
  if (tokenizer.vocab_size() != model->config().n_vocab)
    throw Error(ErrorCode::model_format, "the tokenizer has " + std::to_string(tokenizer.vocab_size()) +
                                             " tokens but the model's output has " +
                                             std::to_string(model->config().n_vocab));
  auto impl = std::make_unique<Impl>(options, std::move(model), std::move(tokenizer), std::move(tmpl));
  impl->bos_text = special_text(impl->tokenizer, impl->tokenizer.bos());
  impl->eos_text = special_text(impl->tokenizer, impl->tokenizer.eos());
  impl->name = impl->model->config().name.empty() ? std::filesystem::path(path).stem().string()
                                                   : impl->model->config().name;
  engine::BatchEngineOptions bo;
  bo.n_ctx = options.n_ctx > 0 ? options.n_ctx : impl->model->options().n_ctx;
  bo.max_batched_tokens = options.max_batched_tokens;
  bo.max_sequences = options.max_sequences;
  bo.max_queued = options.max_queued;
  bo.kv_pool_bytes = options.kv_pool_bytes;
  bo.prefix_cache = options.reuse_prefix;
  bo.batch_invariant = options.batch_invariant;
  bo.callback_threads = options.callback_threads;
  impl->batch = std::make_unique<engine::BatchEngine>(impl->model, impl->tokenizer, bo);
  auto embedder = options.embedding_model.empty() ? nullptr : load_embedder(options.embedding_model, options);
  return std::shared_ptr<LocalEngine>(new LocalEngine(std::move(impl), std::move(embedder)));
}

std::string LocalEngine::render_prompt(const ChatRequest& request) const {
  require_decoder("render_prompt");
  check_chat_request(request);
  ChatTemplateInputs in;
  in.messages = request.messages;
  in.tools = request.tools;
  in.add_generation_prompt = true;
  in.bos_token = impl_->bos_text;
  in.eos_token = impl_->eos_text;
  in.now = impl_->options.template_now;
  return impl_->chat_template.render(in);
}

std::vector<std::int32_t> LocalEngine::tokenize_prompt(const std::string& prompt) const {
  require_decoder("tokenize_prompt");
  const Tokenizer& tok = impl_->tokenizer;
  EncodeOptions eo;
  eo.add_special = false;  // BOS is added below unless the template already wrote it
  eo.parse_special = true;
  auto ids = tok.encode(prompt, eo);
  if (tok.vocab().add_bos && tok.bos() >= 0 && (ids.empty() || ids.front() != tok.bos()))
    ids.insert(ids.begin(), tok.bos());
  return ids;
}

GenerateRequest LocalEngine::to_generate(const ChatRequest& request, std::stop_token stop) const {
  GenerateRequest g;
  g.prompt = tokenize_prompt(render_prompt(request));
  g.sampling = request.sampling;
  g.max_tokens = request.max_tokens;
  const int default_max = impl_->options.default_max_tokens;
  if (!g.max_tokens && default_max > 0) g.max_tokens = default_max;  // LocalEngineOptions
  g.stop = request.stop;
  g.deadline = request.deadline;
  g.priority = request.priority;
  g.cancel = std::move(stop);
  return g;
}

ChatResponse LocalEngine::response_head(const ChatRequest& request) {
  ChatResponse response;
  response.id = "chatcmpl-local-" + std::to_string(impl_->next_request++);
  response.model = request.model.empty() ? impl_->name : request.model;
  response.created = unix_now();
  response.backend = impl_->options.backend_name;
  return response;
}

namespace {

ChatResponse assemble(ChatResponse response, GenerateResult r) {
  Choice choice;
  choice.message.role = Role::assistant;
  choice.message.content = std::move(r.text);
  choice.finish_reason = r.finish_reason;
  choice.token_ids = std::move(r.tokens);
  response.choices.push_back(std::move(choice));
  response.usage = r.usage;
  response.timings = r.timings;
  return response;
}

// Turns text deltas into ChatChunks: the role on the first, the finish reason
// and usage on the last. Called serially (one deliverer per request).
struct ChunkMaker {
  std::string id, model;
  bool role_sent = false;
  ChatChunk delta(std::string_view text, std::span<const std::int32_t> tokens) {
    ChatChunk c = head();
    c.delta_content = std::string(text);
    c.token_ids.assign(tokens.begin(), tokens.end());
    return c;
  }
  ChatChunk last(FinishReason reason, const std::optional<Usage>& usage) {
    ChatChunk c = head();
    c.finish_reason = reason;
    c.usage = usage;
    return c;
  }
  ChatChunk head() {
    ChatChunk c;
    c.id = id;
    c.model = model;
    if (!role_sent) c.delta_role = Role::assistant;
    role_sent = true;
    return c;
  }
};

}  // namespace

ChatResponse ChatHandle::get() const { return assemble(head_, generation_.get()); }

ChatResponse LocalEngine::do_chat(const ChatRequest& request, std::stop_token stop) {
  return do_chat_stream(request, {}, std::move(stop));
}

ChatResponse LocalEngine::do_chat_stream(const ChatRequest& request, const ChunkCallback& on_chunk,
                                         std::stop_token stop) {
  require_decoder("chat");
  const GenerateRequest g = to_generate(request, std::move(stop));
  ChatResponse head = response_head(request);
  ChunkMaker maker{head.id, head.model};
  auto chunk = [&](std::string_view text, std::span<const std::int32_t> tokens) {
    return on_chunk(maker.delta(text, tokens));
  };
  GenerateResult r = on_chunk ? generate(g, chunk) : generate(g);
  if (on_chunk) on_chunk(maker.last(r.finish_reason, r.usage));  // generation is over: nothing left to cancel
  return assemble(std::move(head), std::move(r));
}

ChatHandle LocalEngine::submit_chat(const ChatRequest& request, ChunkCallback on_chunk, std::stop_token stop) {
  require_decoder("submit_chat");
  validate_chat_request(request);
  const GenerateRequest g = to_generate(request, std::move(stop));
  ChatResponse head = response_head(request);
  TextCallback on_text;
  std::function<void(const GenerateResult*, std::exception_ptr)> on_done;
  if (on_chunk) {
    auto maker = std::make_shared<ChunkMaker>(ChunkMaker{head.id, head.model});
    on_text = [maker, on_chunk](std::string_view text, std::span<const std::int32_t> tokens) {
      return on_chunk(maker->delta(text, tokens));
    };
    on_done = [maker, on_chunk](const GenerateResult* r, std::exception_ptr) {
      on_chunk(r ? maker->last(r->finish_reason, r->usage) : maker->last(FinishReason::error, std::nullopt));
    };
  }
  auto state = impl_->batch->submit(g, impl_->sampler_config(g.sampling), std::move(on_text), std::move(on_done), false);
  return ChatHandle(GenerationHandle(std::move(state)), std::move(head));
}

const Model& LocalEngine::model() const {
  require_decoder("model");
  return *impl_->model;
}
const Tokenizer& LocalEngine::tokenizer() const noexcept { return impl_ ? impl_->tokenizer : embedder_->tokenizer(); }
const ChatTemplate& LocalEngine::chat_template() const {
  require_decoder("chat_template");
  return impl_->chat_template;
}
int LocalEngine::n_ctx() const noexcept { return impl_ ? impl_->batch->n_ctx() : embedder_->n_ctx(); }
const std::string& LocalEngine::model_name() const noexcept { return impl_ ? impl_->name : embedder_->model_name(); }
const std::string& LocalEngine::name() const noexcept { return impl_ ? impl_->options.backend_name : embedder_->name(); }

BackendCapabilities LocalEngine::capabilities() const {
  if (!impl_) return embedder_->capabilities();
  BackendCapabilities c;
  c.models = {impl_->name};
  c.context_window = n_ctx();
  c.streaming = true;
  // Tools are rendered into the prompt, but the model's tool-call text is not
  // parsed back into ToolCalls yet, so a router should not send tool requests here.
  c.tools = false;
  c.json_output = false;
  c.local = true;
  c.embeddings = embedder_ != nullptr;
  return c;
}

BackendHealth LocalEngine::health() const {
  if (!impl_) return embedder_->health();
  const EngineStats s = impl_->batch->stats();
  BackendHealth h;
  h.running = s.running;
  h.capacity = impl_->options.max_sequences;
  h.queue_depth = s.queue_depth;
  h.estimated_wait_ms = s.estimated_wait_ms;
  if (s.queue_depth >= impl_->options.max_queued) {
    h.status = HealthStatus::degraded;
    h.detail = "the queue is full (" + std::to_string(s.queue_depth) + " waiting)";
  }
  return h;
}

}  // namespace cnai
