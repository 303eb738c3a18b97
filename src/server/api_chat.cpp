// Api routes of Chat Completions, legacy Completions (served as a one-turn
// chat) and Embeddings, through the api/ codecs. A stream's head is sent
// with its first chunk, so a request the backend refuses at once still gets
// its HTTP status; later failures are in-stream error events.
#include <boost/json.hpp>
#include <fmt/format.h>

#include <functional>

#include "cnai/api/json.hpp"
#include "cnai/api/openai_sse.hpp"
#include "server/api.hpp"
#include "server/error_reply.hpp"
#include "server/job_format.hpp"
#include "server/json_body.hpp"

namespace cnai::server {
namespace {

namespace bj = boost::json;

void start_sse(ResponseSink& sink) {
  if (!sink.streaming()) sink.start_stream(200, "text/event-stream", {{"cache-control", "no-cache"}});
}

// A legacy Completions body as a Chat Completions body: the prompt becomes
// the user's message; fields only raw completion has are refused by name.
std::string completions_as_chat(std::string_view body) {
  bj::object o = parse_body_object(body);
  const bj::value* prompt = o.if_contains("prompt");
  std::string text;
  if (prompt && prompt->is_string()) {
    text = std::string(prompt->as_string());
  } else if (prompt && prompt->is_array() && prompt->as_array().size() == 1 && prompt->as_array()[0].is_string()) {
    text = std::string(prompt->as_array()[0].as_string());
  } else {
    throw Error(ErrorCode::invalid_argument, "prompt: expected a string (or an array of one string)");
  }
  for (const char* f : {"echo", "suffix", "logprobs", "best_of"}) {
    const bj::value* x = o.if_contains(f);
    if (x && !x->is_null() && !(x->is_bool() && !x->as_bool()) && !(x->is_int64() && x->as_int64() <= 1)) {
      throw Error(ErrorCode::unsupported, fmt::format("{}: not supported by this server", f));
    }
    o.erase(f);
  }
  o.erase("prompt");
  o["messages"] = bj::array{bj::object{{"role", "user"}, {"content", text}}};
  return bj::serialize(o);
}

// OpenAI requires `model`; this server lets a request leave it out (the
// default model, a router's default alias, answers it). The decoder's
// complaint about the missing field is met by adding it, so a request that
// names its model is parsed once, as before.
template <class Decode>
auto decode_with_model(std::string_view body, const std::function<std::string()>& default_model, Decode decode) {
  try {
    return decode(body);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::invalid_argument ||
        std::string_view(e.what()).find("field 'model' is missing") == std::string_view::npos) {
      throw;
    }
  }
  std::string with(body);
  const auto brace = with.find('{');  // the decoder got this far: the body is an object
  const auto next = with.find_first_not_of(" \t\r\n", brace + 1);
  const bool empty = next != std::string::npos && with[next] == '}';
  with.insert(brace + 1, "\"model\":" + bj::serialize(bj::value(default_model())) + (empty ? "" : ","));
  return decode(with);
}

constexpr std::int64_t kMaxChoices = 8;

// Chat Completions' `n` (how many choices): taken out of the body, which the
// api/ decoder then reads as one choice; the route runs the backend n times.
int take_n(std::string& body) {
  if (body.find("\"n\"") == std::string::npos) return 1;  // the common case: no second parse
  boost::system::error_code ec;
  bj::parse_options opts;
  opts.max_depth = 64;
  bj::value v = bj::parse(body, ec, {}, opts);
  if (ec || !v.is_object()) return 1;  // the decoder names what is wrong
  bj::object& o = v.as_object();
  const bj::value* n = o.if_contains("n");
  if (!n) return 1;
  int count = 1;
  if (!n->is_null()) {
    if (!n->is_int64() && !n->is_uint64()) throw Error(ErrorCode::invalid_argument, "n: expected an integer");
    const std::int64_t x = n->is_int64() ? n->as_int64() : static_cast<std::int64_t>(std::min<std::uint64_t>(n->as_uint64(), 1u << 30));
    if (x < 1 || x > kMaxChoices) {
      throw Error(ErrorCode::invalid_argument, fmt::format("n: must be in [1, {}], got {}", kMaxChoices, x));
    }
    count = static_cast<int>(x);
  }
  o.erase("n");
  body = bj::serialize(o);
  return count;
}

// Choice i of n runs with seed + i, so a seeded request's choices differ and repeat.
ChatRequest choice_request(const ChatRequest& chat, int i) {
  ChatRequest c = chat;
  if (c.sampling.seed) c.sampling.seed = *c.sampling.seed + static_cast<std::uint64_t>(i);
  return c;
}

bj::object completion_choice(std::string_view text, FinishReason finish) {
  return {{"text", text},
          {"index", 0},
          {"logprobs", nullptr},
          {"finish_reason", finish == FinishReason::none ? bj::value(nullptr) : bj::value(bj::string(to_string(finish)))}};
}

}  // namespace

void Api::add_chat_routes() {
  add("POST", "/v1/chat/completions", [this](const HttpRequest& req, const Params&, ResponseSink& sink) {
    std::string body = req.body;
    const int n = take_n(body);
    ChatRequest chat = decode_with_model(body, [this] { return default_model(); }, chat_request_from_openai_json);
    mark_internal(req, chat);
    if (chat.model.empty()) chat.model = default_model();
    note_usage(req, chat, nullptr);
    if (n > 1) return chat_choices(req, chat, n, sink);
    if (!chat.stream) {
      ChatResponse r = backend_.chat(chat, sink.stop_token());
      note_usage(req, chat, &r);
      return json_reply(to_openai_json(r));
    }
    OpenAiSseWriter writer({chat.stream_include_usage, unix_now()});
    try {
      ChatResponse r = backend_.chat_stream(
          chat,
          [&](const ChatChunk& c) {
            start_sse(sink);
            return sink.write(writer.chunk(c));
          },
          sink.stop_token());
      note_usage(req, chat, &r);
      start_sse(sink);
      sink.write(writer.done());
    } catch (const Error& e) {
      if (!sink.streaming()) throw;  // nothing sent yet: a plain error reply with its status
      sink.write(writer.error(e));
    }
    return HttpReply{};
  });

  add("POST", "/v1/completions", [this](const HttpRequest& req, const Params&, ResponseSink& sink) {
    ChatRequest chat =
        decode_with_model(completions_as_chat(req.body), [this] { return default_model(); }, chat_request_from_openai_json);
    mark_internal(req, chat);
    if (chat.model.empty()) chat.model = default_model();
    note_usage(req, chat, nullptr);
    const std::string id = new_id("cmpl-");
    const std::int64_t created = unix_now();
    auto object = [&](bj::object choice) {
      return bj::object{{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", chat.model},
                        {"choices", bj::array{std::move(choice)}}};
    };
    auto usage_of = [](const Usage& u) {
      return bj::object{{"prompt_tokens", u.prompt_tokens}, {"completion_tokens", u.completion_tokens},
                        {"total_tokens", u.total_tokens}};
    };
    if (!chat.stream) {
      ChatResponse r = backend_.chat(chat, sink.stop_token());
      note_usage(req, chat, &r);
      const Choice* c = r.choices.empty() ? nullptr : &r.choices[0];
      bj::object o = object(completion_choice(c ? c->message.content : "", c ? c->finish_reason : FinishReason::stop));
      o["usage"] = usage_of(r.usage);
      return json_reply(bj::serialize(o));
    }
    try {
      ChatResponse r = backend_.chat_stream(
          chat,
          [&](const ChatChunk& c) {
            if (c.delta_content.empty() && c.finish_reason == FinishReason::none) return !sink.stop_token().stop_requested();
            start_sse(sink);
            return sink.write("data: " + bj::serialize(object(completion_choice(c.delta_content, c.finish_reason))) + "\n\n");
          },
          sink.stop_token());
      note_usage(req, chat, &r);
      start_sse(sink);
      if (chat.stream_include_usage) {
        bj::object last = object(completion_choice("", FinishReason::none));
        last["choices"] = bj::array{};
        last["usage"] = usage_of(r.usage);
        sink.write("data: " + bj::serialize(last) + "\n\n");
      }
      sink.write("data: [DONE]\n\n");
    } catch (const Error& e) {
      if (!sink.streaming()) throw;
      sink.write("data: " + error_json(e) + "\n\n");
    }
    return HttpReply{};
  });

  add("POST", "/v1/embeddings", [this](const HttpRequest& req, const Params&, ResponseSink& sink) {
    EmbeddingRequest e = decode_with_model(req.body, [this] { return default_model(); }, embedding_request_from_openai_json);
    if (e.model.empty()) e.model = default_model();
    ChatRequest for_usage;
    for_usage.model = e.model;
    for_usage.user = e.user;
    note_usage(req, for_usage, nullptr);
    EmbeddingResponse r = backend_.embeddings(e, sink.stop_token());
    UsageRecord u;
    u.model = e.model;
    u.user = e.user.value_or("");
    u.backend = r.backend;
    u.prompt_tokens = r.usage.prompt_tokens;
    u.cost_usd = r.usage.cost_usd;
    req.usage = std::move(u);
    return json_reply(to_openai_json(r, e.encoding_format));
  });
}

// n > 1: the backend runs once per choice, one after another; a stream
// carries each choice's chunks under its index, and the usage adds up the
// completions (the prompt is counted once, as OpenAI counts it).
HttpReply Api::chat_choices(const HttpRequest& req, const ChatRequest& chat, int n, ResponseSink& sink) {
  const std::string id = new_id("chatcmpl-");
  Usage usage;
  auto add_usage = [&](const Usage& u, int i) {
    if (i == 0) usage.prompt_tokens = u.prompt_tokens;
    usage.completion_tokens += u.completion_tokens;
    usage.cached_prompt_tokens = i == 0 ? u.cached_prompt_tokens : usage.cached_prompt_tokens;
    usage.cost_usd += u.cost_usd;
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  };
  if (!chat.stream) {
    ChatResponse merged;
    for (int i = 0; i < n; ++i) {
      ChatResponse r = backend_.chat(choice_request(chat, i), sink.stop_token());
      if (i == 0) merged = r;
      if (r.choices.empty()) throw Error(ErrorCode::upstream, "the backend answered with no choice");
      if (i > 0) merged.choices.push_back(std::move(r.choices.front()));
      merged.choices.back().index = i;
      add_usage(r.usage, i);
    }
    merged.id = id;
    merged.usage = usage;
    note_usage(req, chat, &merged);
    return json_reply(to_openai_json(merged));
  }
  const std::int64_t created = unix_now();
  OpenAiSseWriter writer({chat.stream_include_usage, created});
  ChatResponse last;
  try {
    for (int i = 0; i < n; ++i) {
      last = backend_.chat_stream(
          choice_request(chat, i),
          [&](const ChatChunk& c) {
            ChatChunk mine = c;
            mine.id = id;
            mine.index = i;
            mine.usage.reset();  // summed below, once
            start_sse(sink);
            return sink.write(writer.chunk(mine));
          },
          sink.stop_token());
      add_usage(last.usage, i);
    }
    last.usage = usage;
    note_usage(req, chat, &last);
    start_sse(sink);
    if (chat.stream_include_usage) {
      bj::object u{{"prompt_tokens", usage.prompt_tokens}, {"completion_tokens", usage.completion_tokens},
                   {"total_tokens", usage.total_tokens}};
      sink.write("data: " + bj::serialize(bj::object{{"id", id}, {"object", "chat.completion.chunk"}, {"created", created},
                                                   {"model", chat.model}, {"choices", bj::array{}}, {"usage", std::move(u)}}) +
                 "\n\n");
    }
    sink.write(writer.done());
  } catch (const Error& e) {
    if (!sink.streaming()) throw;
    sink.write(writer.error(e));
  }
  return HttpReply{};
}

}  // namespace cnai::server
