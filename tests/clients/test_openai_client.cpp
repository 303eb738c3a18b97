// OpenAiClient against the real loopback TestHttpServer: plain and streamed
// chat, tool-call deltas, usage/cost, retries per header form, error mapping,
// truncated/malformed/wrong-type bodies, Azure URLs; a live test with a key.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <stop_token>
#include <thread>

#include "cnai/clients/openai_client.hpp"
#include "cnai/clients/pricing.hpp"
#include "cnai/core/error.hpp"
#include "support/test_http_server.hpp"

namespace bj = boost::json;
using namespace cnai;
using namespace std::chrono_literals;
using cnai::test::TestHttpServer;
using cnai::test::TestRequest;
using cnai::test::TestResponse;

namespace {

const char* kChatBody = R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",
  "choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],
  "usage":{"prompt_tokens":1000,"completion_tokens":2000,"total_tokens":3000}})";

OpenAiOptions fast_options(const TestHttpServer& server) {
  OpenAiOptions o;
  o.base_url = server.base_url() + "/v1";
  o.api_key = "sk-test";
  o.common.retries.initial_delay = 1ms;  // keep retry waits short
  o.common.retries.max_delay = 4ms;
  o.common.timeouts.connect = 2s;
  o.common.timeouts.first_byte = 5s;
  o.common.timeouts.total = 10s;
  o.common.timeouts.idle_read = 5s;
  return o;
}

ChatRequest hello_request() {
  ChatRequest r;
  r.model = "gpt-4o-mini";
  Message m;
  m.content = "Say hello";
  r.messages.push_back(m);
  r.max_tokens = 16;
  return r;
}

std::string sse(const std::string& json) { return "data: " + json + "\n\n"; }

std::string chunk_json(const std::string& delta, const std::string& finish = "null") {
  return R"({"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":)" + delta +
         R"(,"finish_reason":)" + finish + "}]}";
}

/// Runs `f`, expects a cnai::Error, returns it.
Error expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected a cnai::Error");
  return Error(ErrorCode::internal, "unreachable");
}

}  // namespace

TEST_CASE("chat: request headers and body, response, usage and cost") {
  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [](const TestRequest&) { return TestResponse::json(kChatBody); });
  OpenAiOptions o = fast_options(server);
  o.organization = "org-1";
  o.project = "proj-1";
  o.common.prices = std::make_shared<PriceTable>();
  o.common.prices->set("gpt-4o-mini", {3.0, 5.0, -1});
  OpenAiClient client(o);
  ChatResponse r = client.chat(hello_request());
  CHECK(r.choices.at(0).message.content == "Hello there");
  CHECK(r.choices[0].finish_reason == FinishReason::stop);
  CHECK(r.backend == "openai");
  CHECK(r.usage.total_tokens == 3000);
  CHECK(r.usage.cost_usd == doctest::Approx((1000 * 3.0 + 2000 * 5.0) / 1e6));  // the options' table
  o.common.prices->set("gpt-4o-mini", {1.0, 1.0, -1});  // shared: the client sees updates
  CHECK(client.chat(hello_request()).usage.cost_usd == doctest::Approx(3000 * 1.0 / 1e6));

  auto req = server.last_request();
  REQUIRE(req);
  CHECK(req->header("authorization") == "Bearer sk-test");
  CHECK(req->header("openai-organization") == "org-1");
  CHECK(req->header("openai-project") == "proj-1");
  bj::value body = bj::parse(req->body);
  CHECK(body.at("model").as_string() == "gpt-4o-mini");
  CHECK(body.at("messages").as_array()[0].at("content").as_string() == "Say hello");
  CHECK_FALSE(body.as_object().contains("stream"));
}

TEST_CASE("chat_stream: deltas split across reads, tool calls assembled, usage, [DONE]") {
  std::string all = sse(chunk_json(R"({"role":"assistant","content":""})")) +
                    sse(chunk_json(R"({"content":"Hel"})")) + sse(chunk_json(R"({"content":"lo"})")) +
                    sse(chunk_json(R"({"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]})")) +
                    sse(chunk_json(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]})")) +
                    sse(chunk_json(R"({"tool_calls":[{"index":0,"function":{"arguments":"\"Oslo\"}"}}]})")) +
                    sse(chunk_json("{}", "\"tool_calls\"")) +
                    sse(R"({"id":"c1","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}})") +
                    "data: [DONE]\n\n";
  std::vector<std::string> pieces;  // cut at awkward places, mid-event and mid-line
  for (std::size_t i = 0; i < all.size(); i += 37) pieces.push_back(all.substr(i, 37));
  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [&](const TestRequest&) { return TestResponse::sse(pieces); });
  OpenAiClient client(fast_options(server));
  std::string streamed;
  int callbacks = 0;
  ChatResponse r = client.chat_stream(hello_request(), [&](const ChatChunk& c) {
    streamed += c.delta_content;
    ++callbacks;
    return true;
  });
  CHECK(streamed == "Hello");
  CHECK(callbacks == 8);
  CHECK(r.choices.at(0).message.content == "Hello");
  REQUIRE(r.choices[0].message.tool_calls.size() == 1);
  CHECK(r.choices[0].message.tool_calls[0].name == "get_weather");
  CHECK(r.choices[0].message.tool_calls[0].arguments == R"({"city":"Oslo"})");
  CHECK(r.choices[0].finish_reason == FinishReason::tool_calls);
  CHECK(r.usage.total_tokens == 15);
  CHECK(r.usage.cost_usd > 0);
  bj::value body = bj::parse(server.last_request()->body);
  CHECK(body.at("stream").as_bool());
  CHECK(body.at("stream_options").at("include_usage").as_bool());
}

TEST_CASE("chat_stream: a finished stream leaves its connection in the pool for the next call") {
  const std::string all = sse(chunk_json(R"({"role":"assistant","content":"Hi"})")) + "data: [DONE]\n\n";
  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [&](const TestRequest&) { return TestResponse::sse({all}); });
  OpenAiClient client(fast_options(server));
  for (int i = 0; i < 3; ++i) {
    ChatResponse r = client.chat_stream(hello_request(), [](const ChatChunk&) { return true; });
    CHECK(r.choices.at(0).message.content == "Hi");
  }
  CHECK(server.connections_accepted() == 1);
}

TEST_CASE("429 is retried with each retry header form, then succeeds") {
  struct Form {
    std::string name;
    std::string value;
    bool honoured;  // the server's delay is used (else backoff of ~1 ms)
  };
  Form forms[] = {{"retry-after-ms", "20", true}, {"retry-after", "0.02", true},
                  {"retry-after", "Thu, 01 Jan 2099 00:00:00 GMT", false},  // beyond 60 s: ignored
                  {"x-none", "backoff", false}};
  for (const Form& form : forms) {
    CAPTURE(form.name);
    CAPTURE(form.value);
    TestHttpServer server;
    std::atomic<int> attempts{0};
    server.route("POST", "/v1/chat/completions", [&](const TestRequest&) {
      if (attempts++ == 0) {
        auto r = TestResponse::json(R"({"error":{"message":"Rate limit reached","type":"requests"}})", 429);
        r.headers.emplace_back(form.name, form.value);
        r.headers.emplace_back("Content-Type", "application/json");
        return r;
      }
      return TestResponse::json(kChatBody);
    });
    OpenAiClient client(fast_options(server));
    auto t0 = std::chrono::steady_clock::now();
    ChatResponse r = client.chat(hello_request());
    auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(attempts == 2);
    CHECK(r.choices.at(0).message.content == "Hello there");
    if (form.honoured) CHECK(waited >= 15ms);
    if (!form.honoured) CHECK(waited < 500ms);
    CHECK(waited < 2s);
  }
}

TEST_CASE("5xx retried up to max_retries, then the mapped error with upstream status") {
  struct Case {
    int status;
    ErrorCode code;
  };
  for (Case c : {Case{500, ErrorCode::upstream}, Case{502, ErrorCode::upstream}, Case{503, ErrorCode::unavailable},
                 Case{529, ErrorCode::overloaded}}) {
    CAPTURE(c.status);
    TestHttpServer server;
    std::atomic<int> attempts{0};
    server.route("POST", "/v1/chat/completions", [&](const TestRequest&) {
      ++attempts;
      return TestResponse::json(R"({"error":{"message":"server trouble","type":"server_error"}})", c.status);
    });
    OpenAiOptions o = fast_options(server);
    o.common.retries.max_retries = 3;
    OpenAiClient client(o);
    Error e = expect_error([&] { client.chat(hello_request()); });
    CHECK(attempts == 4);
    CHECK(e.code() == c.code);
    CHECK(e.upstream_status() == c.status);
    CHECK(e.upstream_message() == "server trouble");
  }
}

TEST_CASE("x-should-retry overrides the status rule; 4xx map without retries") {
  TestHttpServer server;
  std::atomic<int> attempts{0};
  server.route("POST", "/v1/chat/completions", [&](const TestRequest& req) {
    ++attempts;
    auto r = TestResponse::json(R"({"error":{"message":"no"}})", 503);
    r.headers.emplace_back("x-should-retry", "false");
    r.headers.emplace_back("Content-Type", "application/json");
    return r;
  });
  OpenAiClient client(fast_options(server));
  CHECK(expect_error([&] { client.chat(hello_request()); }).code() == ErrorCode::unavailable);
  CHECK(attempts == 1);

  TestHttpServer server2;
  std::atomic<int> attempts2{0};
  server2.route("POST", "/v1/chat/completions", [&](const TestRequest&) {
    if (attempts2++ == 0) {
      auto r = TestResponse::json(R"({"error":{"message":"try again"}})", 400);
      r.headers.emplace_back("x-should-retry", "true");
      r.headers.emplace_back("Content-Type", "application/json");
      return r;
    }
    return TestResponse::json(kChatBody);
  });
  OpenAiClient client2(fast_options(server2));
  CHECK(client2.chat(hello_request()).choices.at(0).message.content == "Hello there");
  CHECK(attempts2 == 2);

  struct Case {
    int status;
    const char* body;
    ErrorCode code;
  };
  for (Case c : {Case{400, R"({"error":{"message":"This model's maximum context length is 128000 tokens","code":"context_length_exceeded"}})", ErrorCode::context_overflow},
                 Case{400, R"({"error":{"message":"bad temperature"}})", ErrorCode::invalid_argument},
                 Case{401, R"({"error":{"message":"Incorrect API key"}})", ErrorCode::unauthorized},
                 Case{404, R"({"error":{"message":"model not found"}})", ErrorCode::not_found}}) {
    TestHttpServer s;
    std::atomic<int> n{0};
    s.route("POST", "/v1/chat/completions", [&](const TestRequest&) {
      ++n;
      return TestResponse::json(c.body, c.status);
    });
    OpenAiClient cl(fast_options(s));
    Error e = expect_error([&] { cl.chat(hello_request()); });
    CHECK(e.code() == c.code);
    CHECK(e.upstream_status() == c.status);
    CHECK(n == 1);
  }
}

TEST_CASE("connection failures and first-byte timeouts are retried") {
  TestHttpServer server;
  std::atomic<int> attempts{0};
  server.route("POST", "/v1/chat/completions", [&](const TestRequest&) {
    int n = attempts++;
    TestResponse r = TestResponse::json(kChatBody);
    if (n == 0) r.fault = cnai::test::Fault::close_before_response;
    if (n == 1) r.delay_before_head = 1500ms;
    return r;
  });
  OpenAiOptions o = fast_options(server);
  o.common.timeouts.first_byte = 300ms;
  OpenAiClient client(o);
  CHECK(client.chat(hello_request()).choices.at(0).message.content == "Hello there");
  CHECK(attempts == 3);
}

TEST_CASE("stream failures: truncated, in-band error, malformed chunk, no retry after content") {
  auto run = [](std::vector<std::string> pieces, std::chrono::milliseconds delay, OpenAiOptions* tweak,
                int* attempts_out) {
    TestHttpServer server;
    std::atomic<int> attempts{0};
    server.route("POST", "/v1/chat/completions", [&](const TestRequest&) {
      ++attempts;
      return TestResponse::sse(pieces, delay);
    });
    OpenAiOptions o = fast_options(server);
    if (tweak) {
      o.common.timeouts = tweak->common.timeouts;
    }
    OpenAiClient client(o);
    Error e = expect_error([&] { client.chat_stream(hello_request(), [](const ChatChunk&) { return true; }); });
    *attempts_out = attempts;
    return e;
  };
  int attempts = 0;
  Error truncated = run({sse(chunk_json(R"({"content":"Hi"})"))}, 0ms, nullptr, &attempts);
  CHECK(truncated.code() == ErrorCode::upstream);
  CHECK(std::string(truncated.what()).find("stream ended before [DONE]") != std::string::npos);
  CHECK(attempts == 1);

  Error inband = run({sse(chunk_json(R"({"content":"Hi"})")), sse(R"({"error":{"message":"boom","type":"server_error"}})")},
                     0ms, nullptr, &attempts);
  CHECK(std::string(inband.what()).find("boom") != std::string::npos);

  Error malformed = run({sse(R"({"choices":[{"delta":{"content":5}}]})")}, 0ms, nullptr, &attempts);
  CHECK(malformed.code() == ErrorCode::upstream);
  CHECK(std::string(malformed.what()).find("delta.content") != std::string::npos);

  // Content reached the caller, then the stream stalls past idle_read: a
  // retryable timeout, but never retried once content was delivered.
  OpenAiOptions slow;
  slow.common.timeouts.idle_read = 200ms;
  slow.common.timeouts.first_byte = 5s;
  slow.common.timeouts.total = 10s;
  Error stalled = run({sse(chunk_json(R"({"content":"Hi"})")), sse(chunk_json(R"({"content":"late"})"))}, 1000ms, &slow,
                      &attempts);
  CHECK(stalled.code() == ErrorCode::timeout);
  CHECK(attempts == 1);
}

TEST_CASE("malformed JSON, wrong content types") {
  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [](const TestRequest& req) {
    if (req.body.find("\"stream\":true") != std::string::npos) return TestResponse::json(kChatBody);  // not SSE
    return TestResponse::json(R"({"id":"x","choices":[{"message":)");
  });
  server.route("POST", "/v1/embeddings", [](const TestRequest&) {
    TestResponse r;
    r.body = "<html>hello</html>";
    r.headers.emplace_back("Content-Type", "text/html");
    return r;
  });
  OpenAiClient client(fast_options(server));
  Error malformed = expect_error([&] { client.chat(hello_request()); });
  CHECK(malformed.code() == ErrorCode::upstream);
  CHECK(std::string(malformed.what()).find("malformed JSON") != std::string::npos);
  Error not_sse = expect_error([&] { client.chat_stream(hello_request(), [](const ChatChunk&) { return true; }); });
  CHECK(not_sse.code() == ErrorCode::upstream);
  CHECK(std::string(not_sse.what()).find("text/event-stream") != std::string::npos);
  EmbeddingRequest er;
  er.model = "text-embedding-3-small";
  er.input = {"a"};
  Error html = expect_error([&] { client.embeddings(er); });
  CHECK(html.code() == ErrorCode::upstream);
  CHECK(std::string(html.what()).find("text/html") != std::string::npos);
}

TEST_CASE("embeddings, models, responses") {
  TestHttpServer server;
  server.route("POST", "/v1/embeddings", [](const TestRequest&) {
    return TestResponse::json(R"({"object":"list","model":"text-embedding-3-small","data":[{"index":1,"embedding":[0.5,0.25]},{"index":0,"embedding":[1,2]}],"usage":{"prompt_tokens":1000000,"total_tokens":1000000}})");
  });
  server.route("GET", "/v1/models", [](const TestRequest&) {
    return TestResponse::json(R"({"object":"list","data":[{"id":"gpt-4o","object":"model"},{"id":"gpt-4.1","object":"model"}]})");
  });
  server.route("POST", "/v1/responses", [](const TestRequest&) {
    return TestResponse::json(R"({"id":"resp_1","object":"response","created_at":1,"model":"gpt-4.1","status":"completed",
      "output":[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi!"}]}],
      "usage":{"input_tokens":1000000,"output_tokens":0,"total_tokens":1000000}})");
  });
  OpenAiClient client(fast_options(server));
  EmbeddingRequest er;
  er.model = "text-embedding-3-small";
  er.input = {"a", "b"};
  auto e = client.embeddings(er);
  REQUIRE(e.data.size() == 2);
  CHECK(e.data[0] == std::vector<float>{1.0f, 2.0f});
  CHECK(e.usage.cost_usd == doctest::Approx(PriceTable::with_defaults().find("text-embedding-3-small")->input_per_million));
  CHECK(client.list_models() == std::vector<std::string>{"gpt-4o", "gpt-4.1"});
  ChatResponse r = client.respond(hello_request());
  CHECK(r.choices.at(0).message.content == "Hi!");
  CHECK(r.usage.cost_usd == doctest::Approx(PriceTable::with_defaults().find("gpt-4.1")->input_per_million));
  bj::value body = bj::parse(server.last_request()->body);
  CHECK(body.at("input").as_array()[0].at("content").as_string() == "Say hello");
  CHECK(body.at("max_output_tokens").to_number<int>() == 16);
}

TEST_CASE("Azure: deployment URL with api-version and api-key header") {
  TestHttpServer server;
  server.route("POST", "/openai/deployments/my-gpt/chat/completions", [](const TestRequest&) { return TestResponse::json(kChatBody); });
  OpenAiOptions o = fast_options(server);
  o.base_url = server.base_url();
  o.api_key = "azure-key";
  o.azure = AzureOptions{"my-gpt", "2024-10-21", false};
  OpenAiClient client(o);
  ChatResponse r = client.chat(hello_request());
  CHECK(r.backend == "azure");
  auto req = server.last_request();
  REQUIRE(req);
  CHECK(req->target == "/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21");
  CHECK(req->header("api-key") == "azure-key");
  CHECK_FALSE(req->header("authorization"));

  o.azure->use_bearer_token = true;
  OpenAiClient bearer(o);
  bearer.chat(hello_request());
  CHECK(server.last_request()->header("authorization") == "Bearer azure-key");
}

TEST_CASE("from_env reads the SDK's variables") {
  setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1", 1);
  setenv("OPENAI_ORG_ID", "org-env", 1);
  setenv("OPENAI_PROJECT_ID", "proj-env", 1);
  OpenAiOptions o = OpenAiOptions::from_env();
  CHECK(o.base_url == "http://127.0.0.1:9/v1");
  CHECK(o.organization == "org-env");
  CHECK(o.project == "proj-env");
  unsetenv("OPENAI_BASE_URL");
  unsetenv("OPENAI_ORG_ID");
  unsetenv("OPENAI_PROJECT_ID");
  CHECK(OpenAiOptions::from_env().base_url == "https://api.openai.com/v1");
}

TEST_CASE("The proxy comes from options (from_env reads HTTPS_PROXY); nothing else reads the environment") {
  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [](const TestRequest&) { return TestResponse::json(kChatBody); });
  setenv("HTTPS_PROXY", "http://127.0.0.1:9", 1);  // nothing listens there
  setenv("NO_PROXY", "internal.example", 1);
  const ClientCommonOptions env = ClientCommonOptions::from_env();
  CHECK(env.https_proxy == "http://127.0.0.1:9");
  CHECK(env.no_proxy == "internal.example");
  CHECK(OpenAiOptions::from_env().common.https_proxy == "http://127.0.0.1:9");
  OpenAiOptions o = fast_options(server);
  CHECK(o.common.https_proxy.empty());  // plain options carry no proxy
  o.base_url = "https://127.0.0.1:" + std::to_string(server.port()) + "/v1";
  o.common.retries.max_retries = 0;
  o.common.https_proxy = env.https_proxy;
  // With the (dead) proxy set for https, the call goes to the proxy and fails there.
  const Error e = expect_error([&] { OpenAiClient(o).chat(hello_request()); });
  CHECK(e.code() == ErrorCode::unavailable);
  CHECK_MESSAGE(std::string(e.what()).find(":9") != std::string::npos, std::string(e.what()));
  unsetenv("HTTPS_PROXY");
  unsetenv("NO_PROXY");
  // Plain http never goes through the CONNECT proxy, whatever the environment said.
  OpenAiOptions plain = fast_options(server);
  plain.common.https_proxy = env.https_proxy;
  CHECK(OpenAiClient(plain).chat(hello_request()).choices.at(0).message.content == "Hello there");
}

TEST_CASE("live OpenAI chat (only with OPENAI_API_KEY)") {
  const char* key = std::getenv("OPENAI_API_KEY");
  if (!key || !*key) {
    MESSAGE("skipped: OPENAI_API_KEY is not set");
    return;
  }
  OpenAiClient client(OpenAiOptions::from_env());
  ChatRequest r = hello_request();
  r.max_tokens = 8;
  ChatResponse resp = client.chat(r);
  CHECK_FALSE(resp.choices.at(0).message.content.empty());
  CHECK(resp.usage.total_tokens > 0);
  CHECK(resp.usage.cost_usd > 0);
}

TEST_CASE("retry-after as an HTTP-date a moment ahead is honoured") {
  std::time_t when = std::time(nullptr) + 2;
  std::tm tm{};
  gmtime_r(&when, &tm);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  TestHttpServer server;
  std::atomic<int> attempts{0};
  server.route("POST", "/v1/chat/completions", [&](const TestRequest&) {
    if (attempts++ == 0) {
      auto r = TestResponse::json(R"({"error":{"message":"slow down"}})", 429);
      r.headers.emplace_back("Retry-After", date);
      r.headers.emplace_back("Content-Type", "application/json");
      return r;
    }
    return TestResponse::json(kChatBody);
  });
  OpenAiClient client(fast_options(server));
  // The date has whole seconds: the wait is until that instant, however long
  // the set-up above took on a loaded machine.
  const auto due = std::chrono::system_clock::from_time_t(when);
  const auto remaining = due - std::chrono::system_clock::now();
  auto t0 = std::chrono::steady_clock::now();
  client.chat(hello_request());
  auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(attempts == 2);
  CHECK(waited >= remaining - 50ms);
  CHECK(waited < 3s);
}

TEST_CASE("client-side rate limit: a request that cannot fit before its deadline fails locally") {
  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [](const TestRequest&) { return TestResponse::json(kChatBody); });
  OpenAiOptions o = fast_options(server);
  o.common.rate_limits.requests_per_minute = 1;
  OpenAiClient client(o);
  client.chat(hello_request());
  ChatRequest r = hello_request();
  r.deadline = std::chrono::steady_clock::now() + 100ms;
  auto t0 = std::chrono::steady_clock::now();
  Error e = expect_error([&] { client.chat(r); });
  CHECK(e.code() == ErrorCode::rate_limited);
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK(server.requests_handled() == 1);
}

TEST_CASE("the request deadline bounds a call in flight, streamed or not") {
  TestHttpServer server;
  std::atomic<int> attempts{0};
  server.route("POST", "/v1/chat/completions", [&](const TestRequest&) {
    ++attempts;
    TestResponse r = TestResponse::json(kChatBody);
    r.delay_before_head = 3s;
    return r;
  });
  OpenAiClient client(fast_options(server));
  for (bool stream : {false, true}) {
    CAPTURE(stream);
    attempts = 0;
    ChatRequest r = hello_request();
    r.deadline = std::chrono::steady_clock::now() + 300ms;
    auto t0 = std::chrono::steady_clock::now();
    Error e = expect_error([&] {
      if (stream) client.chat_stream(r, [](const ChatChunk&) { return true; });
      else client.chat(r);
    });
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(e.code() == ErrorCode::timeout);
    CHECK(took >= 250ms);
    CHECK(took < 2s);
    CHECK(attempts == 1);
  }
}

TEST_CASE("a chunk callback returning false stops the stream with Error(cancelled)") {
  std::vector<std::string> pieces;
  for (int i = 0; i < 50; ++i) pieces.push_back(sse(chunk_json(R"({"content":"x"})")));
  pieces.push_back("data: [DONE]\n\n");
  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [&](const TestRequest&) { return TestResponse::sse(pieces, 5ms); });
  OpenAiClient client(fast_options(server));
  int seen = 0;
  Error e = expect_error([&] { client.chat_stream(hello_request(), [&](const ChatChunk&) { return ++seen < 3; }); });
  CHECK(e.code() == ErrorCode::cancelled);
  CHECK(seen == 3);
}

TEST_CASE("a stop token cancels a call in flight, streamed or not, promptly") {
  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [&](const TestRequest&) {
    TestResponse r = TestResponse::json(kChatBody);
    r.delay_before_head = 3s;
    return r;
  });
  OpenAiClient client(fast_options(server));
  for (bool stream : {false, true}) {
    CAPTURE(stream);
    std::stop_source stop;
    std::thread canceller([&] {
      std::this_thread::sleep_for(200ms);
      stop.request_stop();
    });
    auto t0 = std::chrono::steady_clock::now();
    Error e = expect_error([&] {
      if (stream) client.chat_stream(hello_request(), [](const ChatChunk&) { return true; }, stop.get_token());
      else client.chat(hello_request(), stop.get_token());
    });
    canceller.join();
    CHECK(e.code() == ErrorCode::cancelled);
    CHECK(std::chrono::steady_clock::now() - t0 < 1500ms);
  }
}

TEST_CASE("Backend view: name, capabilities, health after failures") {
  TestHttpServer server;
  server.route("POST", "/v1/chat/completions", [&](const TestRequest&) { return TestResponse::json(R"({"error":{"message":"down"}})", 503); });
  OpenAiOptions o = fast_options(server);
  o.backend_name = "edge-gpt";
  o.common.retries.max_retries = 0;
  OpenAiClient client(o);
  Backend& b = client;
  CHECK(b.name() == "edge-gpt");
  CHECK(b.capabilities().tools);
  CHECK_FALSE(b.capabilities().local);
  CHECK(b.health().status == HealthStatus::healthy);
  expect_error([&] { b.chat(hello_request()); });
  CHECK(b.health().status == HealthStatus::degraded);
  expect_error([&] { b.chat(hello_request()); });
  expect_error([&] { b.chat(hello_request()); });
  const BackendHealth h = b.health();
  CHECK(h.status == HealthStatus::unavailable);
  CHECK(h.detail.find("503") != std::string::npos);
  server.route("POST", "/v1/chat/completions", [&](const TestRequest&) { return TestResponse::json(kChatBody); });
  const ChatResponse r = b.chat(hello_request());
  CHECK(r.backend == "edge-gpt");
  CHECK(b.health().status == HealthStatus::healthy);
}
