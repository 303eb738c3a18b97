// Embeddings through every layer on the set-up's all-MiniLM-L6-v2 (Q8_0 unless
// said): EncoderModel, EmbeddingEngine and LocalEngine as Backends; usage;
// malformed inputs (empty list, empty string, invalid UTF-8, too long) with
// typed errors naming the input; truncation; a batch equal to its members run
// alone; cancellation; many threads at once. The values themselves are checked
// against the NumPy reference in tests/reference/test_embeddings_reference.py.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/engine/embedding_engine.hpp"
#include "cnai/engine/local_engine.hpp"
#include "cnai/model/encoder.hpp"
#include "cnai/model/model.hpp"
#include "cnai/text/tokenizer.hpp"
#include "support/default_model.hpp"

namespace {

using cnai::EmbeddingRequest;
using cnai::ErrorCode;

EmbeddingRequest request(std::vector<std::string> input) {
  EmbeddingRequest r;
  r.input = std::move(input);
  return r;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

ErrorCode code_of(const std::function<void()>& fn, std::string* message = nullptr) {
  try {
    fn();
  } catch (const cnai::Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  FAIL("no error");
  return ErrorCode::internal;
}

std::shared_ptr<cnai::LocalEngine> engine(const std::string& type = "Q8_0") {
  auto path = cnai::testing::embedding_model_or_skip(type);
  if (!path) return nullptr;
  cnai::LocalEngineOptions o;
  o.model.threads = 2;
  return cnai::LocalEngine::load(*path, o);
}

// A long text: ~1000 tokens.
std::string long_text() {
  std::string s;
  for (int i = 0; i < 100; ++i) s += "The embedding of a long passage is cut at the model's context. ";
  return s;
}

}  // namespace

TEST_CASE("LocalEngine loads an encoder as an embedding engine behind the Backend interface") {
  auto e = engine();
  if (!e) return;
  CHECK(e->is_embedding_model());
  CHECK(e->model_name() == "all-MiniLM-L6-v2");
  CHECK(e->n_ctx() == 512);
  const cnai::BackendCapabilities caps = e->capabilities();
  CHECK(caps.embeddings);
  CHECK(caps.local);
  CHECK(caps.context_window == 512);
  cnai::Backend& backend = *e;
  // Hugging Face's tokenizer gives 8 and 11 tokens ([CLS] ... [SEP]) for these.
  const auto r = backend.embeddings(request({"A man is eating food.", "A man is eating a piece of bread."}));
  REQUIRE(r.data.size() == 2);
  CHECK(r.data[0].size() == 384);
  CHECK(r.usage.prompt_tokens == 8 + 11);
  CHECK(r.usage.total_tokens == 19);
  CHECK(r.backend == "local");
  CHECK(r.model == "all-MiniLM-L6-v2");
  CHECK(std::abs(dot(r.data[0], r.data[0]) - 1.0) < 1e-5);  // L2-normalised, as the model's pipeline says
  // Chat is not what this model does.
  cnai::ChatRequest chat;
  chat.messages = {cnai::Message::user("hi")};
  CHECK(code_of([&] { backend.chat(chat); }) == ErrorCode::unsupported);
  CHECK(code_of([&] { (void)e->model(); }) == ErrorCode::unsupported);
}

TEST_CASE("a batch gives each input what it gets alone, and paraphrases score above unrelated text") {
  auto e = engine("F32");
  if (!e) return;
  const std::vector<std::string> texts = {"A man is eating food.", "A man is eating a piece of bread.",
                                          "The new movie is awesome.", long_text().substr(0, 900), "x"};
  const auto together = e->embeddings(request(texts));
  for (std::size_t i = 0; i < texts.size(); ++i) {
    CAPTURE(i);
    const auto alone = e->embeddings(request({texts[i]}));
    CHECK(dot(alone.data[0], together.data[i]) > 0.999999);
  }
  CHECK(dot(together.data[0], together.data[1]) > dot(together.data[0], together.data[2]) + 0.5);
}

TEST_CASE("the file's own layout (ModelOptions::repack false) embeds as the repacked matrices do") {
  auto path = cnai::testing::embedding_model_or_skip("Q8_0");
  if (!path) return;
  cnai::LocalEngineOptions o;
  o.model.threads = 2;
  o.model.repack = false;  // reaches EncoderOptions::repack through LocalEngine
  const auto plain = cnai::LocalEngine::load(*path, o);
  const auto packed = engine("Q8_0");
  const std::vector<std::string> texts = {"A man is eating food.", long_text().substr(0, 600), "x"};
  const auto a = plain->embeddings(request(texts));
  const auto b = packed->embeddings(request(texts));
  for (std::size_t i = 0; i < texts.size(); ++i) {
    CAPTURE(i);
    CHECK(dot(a.data[i], b.data[i]) > 0.99999);
  }
  // And through EncoderModel directly.
  cnai::EncoderOptions eo;
  eo.threads = 2;
  eo.repack = false;
  CHECK(cnai::EncoderModel::load(*path, eo)->config().n_embd == 384);
}

TEST_CASE("malformed inputs get invalid_argument naming the input; nothing is computed") {
  auto e = engine();
  if (!e) return;
  std::string msg;
  CHECK(code_of([&] { e->embeddings(request({})); }, &msg) == ErrorCode::invalid_argument);
  CHECK(msg.find("input") != std::string::npos);
  CHECK(code_of([&] { e->embeddings(request({"fine", ""})); }, &msg) == ErrorCode::invalid_argument);
  CHECK(msg.find("input[1]") != std::string::npos);
  for (const std::string& bad : {std::string("\xff"), std::string("ok \xc3"), std::string("\xc0\xaf"),
                                std::string("\xed\xa0\x80"), std::string("a\x80z")}) {
    CAPTURE(bad);
    CHECK(code_of([&] { e->embeddings(request({"fine", "also fine", bad})); }, &msg) == ErrorCode::invalid_argument);
    CHECK(msg.find("input[2]") != std::string::npos);
    CHECK(msg.find("UTF-8") != std::string::npos);
  }
  EmbeddingRequest wrong_dims = request({"x"});
  wrong_dims.dimensions = 128;
  CHECK(code_of([&] { e->embeddings(wrong_dims); }) == ErrorCode::unsupported);
  wrong_dims.dimensions = 384;
  CHECK(e->embeddings(wrong_dims).data.size() == 1);
  CHECK(e->capabilities().embeddings);
  CHECK(e->health().queue_depth == 0);
}

TEST_CASE("an input longer than the context is context_overflow, named, or truncated on request") {
  auto e = engine();
  if (!e) return;
  std::string msg;
  CHECK(code_of([&] { e->embeddings(request({"short", long_text()})); }, &msg) == ErrorCode::context_overflow);
  CHECK(msg.find("input[1]") != std::string::npos);
  CHECK(msg.find("512") != std::string::npos);
  EmbeddingRequest cut = request({"short", long_text()});
  cut.truncate = true;
  const auto r = e->embeddings(cut);
  CHECK(r.data.size() == 2);
  CHECK(r.usage.prompt_tokens == 3 + 512);
  // The cut input ends with [SEP], as Hugging Face truncates.
  const auto ids = e->embedding_engine()->tokenize(long_text(), true);
  CHECK(ids.size() == 512);
  CHECK(ids.front() == 101);
  CHECK(ids.back() == 102);
}

TEST_CASE("a stopped token cancels; a deadline already past times out") {
  auto e = engine();
  if (!e) return;
  std::stop_source stop;
  stop.request_stop();
  CHECK(code_of([&] { e->embeddings(request({"x"}), stop.get_token()); }) == ErrorCode::cancelled);
  EmbeddingRequest late = request({"x", "y"});
  late.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  CHECK(code_of([&] { e->embeddings(late); }) == ErrorCode::timeout);
  CHECK(e->embeddings(request({"still works"})).data.size() == 1);
}

TEST_CASE("many threads share forward passes and each gets its own answer") {
  auto e = engine();
  if (!e) return;
  const std::vector<std::string> texts = {"alpha beta", "the quick brown fox", "zeta", "emBEDding models are small",
                                          "café crème", "x = y + 1;", "一二三", "question: why?"};
  std::vector<std::vector<float>> alone;
  for (const auto& t : texts) alone.push_back(e->embeddings(request({t})).data[0]);
  const auto before = e->embedding_engine()->batcher_stats();
  constexpr int kThreads = 8, kEach = 12;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::size_t a = (t + i) % texts.size(), b = (t * 3 + i) % texts.size();
        const auto r = e->embeddings(request({texts[a], texts[b]}));
        if (r.data.size() != 2 || dot(r.data[0], alone[a]) < 0.99999 || dot(r.data[1], alone[b]) < 0.99999) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
  const auto after = e->embedding_engine()->batcher_stats();
  CHECK(after.items - before.items == kThreads * kEach * 2);
  CHECK(after.batches - before.batches < after.items - before.items);  // inputs did share passes
}

TEST_CASE("a chat engine can serve embeddings from an attached encoder") {
  auto chat_path = cnai::testing::default_model_or_skip();
  auto embed_path = cnai::testing::embedding_model_or_skip();
  if (!chat_path || !embed_path) return;
  cnai::LocalEngineOptions o;
  o.model.threads = 2;
  o.n_ctx = 256;
  auto plain = cnai::LocalEngine::load(*chat_path, o);
  CHECK_FALSE(plain->capabilities().embeddings);
  CHECK(code_of([&] { plain->embeddings(request({"x"})); }) == ErrorCode::unsupported);
  o.embedding_model = *embed_path;
  auto both = cnai::LocalEngine::load(*chat_path, o);
  CHECK_FALSE(both->is_embedding_model());
  CHECK(both->capabilities().embeddings);
  CHECK(both->embeddings(request({"hello"})).data[0].size() == 384);
}

TEST_CASE("encoder and decoder loaders refuse each other's files") {
  auto embed_path = cnai::testing::embedding_model_or_skip();
  auto chat_path = cnai::testing::default_model_or_skip();
  if (!embed_path || !chat_path) return;
  CHECK(code_of([&] { cnai::Model::load(*embed_path); }) == ErrorCode::unsupported);
  CHECK(code_of([&] { cnai::EncoderModel::load(*chat_path); }) == ErrorCode::unsupported);
  auto m = cnai::EncoderModel::load(*embed_path, {});
  CHECK(m->config().pooling == cnai::Pooling::mean);
  CHECK(m->config().normalize);
  CHECK(m->config().n_layer == 6);
  std::vector<float> out(384);
  const std::vector<std::int32_t> ok{101, 7592, 102}, bad_id{101, 40000, 102}, empty;
  const std::vector<std::int32_t> too_long(513, 1000);
  auto embed_one = [&](const std::vector<std::int32_t>& ids) {
    const std::span<const std::int32_t> s(ids);
    m->embed(std::span(&s, 1), out);
  };
  CHECK_NOTHROW(embed_one(ok));
  CHECK(code_of([&] { embed_one(bad_id); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { embed_one(empty); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { embed_one(too_long); }) == ErrorCode::context_overflow);
}
