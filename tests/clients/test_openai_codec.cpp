// OpenAI JSON codecs: encoding requests, decoding responses/chunks/embeddings,
// error bodies, stream assembly, and clear errors on hostile input.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <cstring>
#include <string>

#include "clients/chat_stream_assembler.hpp"
#include "clients/responses_codec.hpp"
#include "clients/upstream_error.hpp"
#include "cnai/api/json.hpp"
#include "cnai/clients/pricing.hpp"
#include "cnai/core/error.hpp"

namespace bj = boost::json;
using namespace cnai;

namespace {

ChatRequest sample_request() {
  ChatRequest r;
  r.model = "gpt-4o-mini";
  r.messages.push_back({Role::system, "be brief", {}, std::nullopt, {}, std::nullopt});
  r.messages.push_back({Role::user, "weather in Paris?", {}, std::nullopt, {}, std::nullopt});
  Message call;
  call.role = Role::assistant;
  call.tool_calls.push_back({"call_1", "function", "get_weather", R"({"city":"Paris"})"});
  r.messages.push_back(call);
  Message result;
  result.role = Role::tool;
  result.content = "18C";
  result.tool_call_id = "call_1";
  r.messages.push_back(result);
  r.sampling.temperature = 0.5f;
  r.sampling.seed = 42;
  r.sampling.logit_bias[50256] = -100.0f;
  r.max_tokens = 64;
  r.stop = {"\n\n"};
  r.tools.push_back({"function", "get_weather", "Weather for a city", R"({"type":"object","properties":{"city":{"type":"string"}}})"});
  r.tool_choice = "get_weather";
  r.user = "u1";
  return r;
}

std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::upstream);
    return e.what();
  }
  FAIL("expected an Error");
  return {};
}

}  // namespace

TEST_CASE("ChatRequest encodes to the Chat Completions schema") {
  bj::value v = bj::parse(to_openai_json(sample_request()));
  const auto& o = v.as_object();
  CHECK(o.at("model").as_string() == "gpt-4o-mini");
  const auto& msgs = o.at("messages").as_array();
  REQUIRE(msgs.size() == 4);
  CHECK(msgs[0].at("role").as_string() == "system");
  CHECK(msgs[1].at("content").as_string() == "weather in Paris?");
  CHECK(msgs[2].at("content").is_null());  // assistant tool-call turn without text
  const auto& tc = msgs[2].at("tool_calls").as_array()[0];
  CHECK(tc.at("id").as_string() == "call_1");
  CHECK(tc.at("function").at("name").as_string() == "get_weather");
  CHECK(tc.at("function").at("arguments").as_string() == R"({"city":"Paris"})");
  CHECK(msgs[3].at("tool_call_id").as_string() == "call_1");
  CHECK(o.at("temperature").as_double() == doctest::Approx(0.5));
  CHECK(o.at("seed").to_number<int>() == 42);
  CHECK(o.at("logit_bias").at("50256").as_double() == -100.0);
  CHECK(o.at("max_tokens").to_number<int>() == 64);
  CHECK(o.at("stop").as_array()[0].as_string() == "\n\n");
  const auto& tool = o.at("tools").as_array()[0];
  CHECK(tool.at("type").as_string() == "function");
  CHECK(tool.at("function").at("parameters").at("type").as_string() == "object");
  CHECK(o.at("tool_choice").at("function").at("name").as_string() == "get_weather");
  CHECK(o.at("user").as_string() == "u1");
  CHECK_FALSE(o.contains("stream"));
  CHECK_FALSE(o.contains("top_k"));
}

TEST_CASE("streaming, response_format and max_completion_tokens options") {
  ChatRequest r = sample_request();
  r.stream = true;
  r.response_format = ResponseFormat{"json_schema", R"({"type":"object"})", "answer", true};
  OpenAiEncodeOptions opts;
  opts.use_max_completion_tokens = true;
  bj::value v = bj::parse(to_openai_json(r, opts));
  CHECK(v.at("stream").as_bool());
  CHECK(v.at("stream_options").at("include_usage").as_bool());
  CHECK(v.at("max_completion_tokens").to_number<int>() == 64);
  CHECK_FALSE(v.as_object().contains("max_tokens"));
  const auto& rf = v.at("response_format");
  CHECK(rf.at("type").as_string() == "json_schema");
  CHECK(rf.at("json_schema").at("name").as_string() == "answer");
  CHECK(rf.at("json_schema").at("strict").as_bool());
  CHECK(rf.at("json_schema").at("schema").at("type").as_string() == "object");

  r.response_format = ResponseFormat{"json_object", "", "", false};
  CHECK(bj::parse(to_openai_json(r)).at("response_format").at("type").as_string() == "json_object");
}

TEST_CASE("invalid tool parameters JSON is an invalid_argument naming the tool") {
  ChatRequest r = sample_request();
  r.tools[0].parameters_json = "{not json";
  try {
    to_openai_json(r);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
    CHECK(std::string(e.what()).find("get_weather") != std::string::npos);
  }
}

TEST_CASE("chat response decodes content, tool calls and usage") {
  const char* body = R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18",
    "choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
      {"id":"call_9","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},
      "finish_reason":"tool_calls"}],
    "usage":{"prompt_tokens":100,"completion_tokens":20,"total_tokens":120,"prompt_tokens_details":{"cached_tokens":40}}})";
  ChatResponse r = chat_response_from_openai_json(body);
  CHECK(r.id == "chatcmpl-1");
  CHECK(r.created == 1700000000);
  REQUIRE(r.choices.size() == 1);
  CHECK(r.choices[0].finish_reason == FinishReason::tool_calls);
  CHECK(r.choices[0].message.content.empty());
  REQUIRE(r.choices[0].message.tool_calls.size() == 1);
  CHECK(r.choices[0].message.tool_calls[0].arguments == R"({"city":"Oslo"})");
  CHECK(r.usage.prompt_tokens == 100);
  CHECK(r.usage.completion_tokens == 20);
  CHECK(r.usage.total_tokens == 120);
  CHECK(r.usage.cached_prompt_tokens == 40);
}

TEST_CASE("wrong field types and malformed JSON name the field") {
  CHECK(error_text([] { chat_response_from_openai_json(R"({"choices":[{"message":{"content":5}}]})"); })
            .find("choices[0].message.content") != std::string::npos);
  CHECK(error_text([] { chat_response_from_openai_json(R"({"id":"x","choices":"no"})"); }).find("'choices'") !=
        std::string::npos);
  CHECK(error_text([] { chat_response_from_openai_json(R"({"id":"x"})"); }).find("choices") != std::string::npos);
  CHECK(error_text([] { chat_response_from_openai_json(R"({"choices":[], "usage":{"prompt_tokens":"many"}})"); })
            .find("usage.prompt_tokens") != std::string::npos);
  CHECK(error_text([] { chat_response_from_openai_json("{\"choices\": [");}).find("malformed JSON") != std::string::npos);
  CHECK(error_text([] { chat_response_from_openai_json("[1,2]"); }).find("top level") != std::string::npos);
  CHECK(error_text([] { chat_chunk_from_openai_json(R"({"choices":[{"delta":{"tool_calls":[{"index":99999}]}}]})"); })
            .find("index") != std::string::npos);
  std::string deep(100000, '[');
  CHECK(error_text([&] { chat_chunk_from_openai_json(deep); }).find("malformed JSON") != std::string::npos);
  CHECK(error_text([] { embedding_response_from_openai_json(R"({"data":[{"index":0,"embedding":[1,"x"]}]})"); })
            .find("data[0].embedding[1]") != std::string::npos);
}

TEST_CASE("stream chunks assemble content and tool-call argument fragments") {
  const char* chunks[] = {
      R"({"id":"c1","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})",
      R"({"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"Hel"}}]})",
      R"({"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"lo"}}]})",
      R"({"id":"c1","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":""}}]}}]})",
      R"({"id":"c1","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","function":{"name":"g","arguments":"{\"y\""}}]}}]})",
      R"({"id":"c1","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":"}}]}}]})",
      R"({"id":"c1","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]})",
      R"({"id":"c1","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":":2}"}}]}}]})",
      R"({"id":"c1","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
      R"({"id":"c1","model":"m","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":5,"total_tokens":12}})",
  };
  clients::ChatStreamAssembler a;
  for (const char* c : chunks) a.add(chat_chunk_from_openai_json(c));
  CHECK(a.has_content());
  ChatResponse r = a.take();
  CHECK(r.id == "c1");
  REQUIRE(r.choices.size() == 1);
  CHECK(r.choices[0].message.content == "Hello");
  REQUIRE(r.choices[0].message.tool_calls.size() == 2);
  CHECK(r.choices[0].message.tool_calls[0].id == "call_a");
  CHECK(r.choices[0].message.tool_calls[0].name == "f");
  CHECK(r.choices[0].message.tool_calls[0].arguments == R"({"x":1})");
  CHECK(r.choices[0].message.tool_calls[1].arguments == R"({"y":2})");
  CHECK(r.choices[0].finish_reason == FinishReason::tool_calls);
  CHECK(r.usage.total_tokens == 12);
}

TEST_CASE("embeddings: float arrays by index and base64") {
  EmbeddingRequest req;
  req.model = "text-embedding-3-small";
  req.input = {"a", "b"};
  req.dimensions = 3;
  bj::value v = bj::parse(to_openai_json(req));
  CHECK(v.at("input").as_array().size() == 2);
  CHECK(v.at("dimensions").to_number<int>() == 3);

  auto r = embedding_response_from_openai_json(
      R"({"model":"e","data":[{"index":1,"embedding":[3,4]},{"index":0,"embedding":[1.5,-2]}],"usage":{"prompt_tokens":4,"total_tokens":4}})");
  REQUIRE(r.data.size() == 2);
  CHECK(r.data[0] == std::vector<float>{1.5f, -2.0f});
  CHECK(r.data[1] == std::vector<float>{3.0f, 4.0f});
  CHECK(r.usage.prompt_tokens == 4);
  // [1.0f, -2.0f] little-endian: 00 00 80 3f 00 00 00 c0 -> base64 "AACAPwAAAMA="
  auto b = embedding_response_from_openai_json(R"({"data":[{"index":0,"embedding":"AACAPwAAAMA="}]})");
  REQUIRE(b.data.size() == 1);
  CHECK(b.data[0] == std::vector<float>{1.0f, -2.0f});
  // Fuzzer find: an empty base64 vector decodes to an empty vector, no UB.
  CHECK(embedding_response_from_openai_json(R"({"data":[{"embedding":"="}]})").data.at(0).empty());
  CHECK_THROWS_AS(embedding_response_from_openai_json(R"({"data":[{"embedding":"AAA"}]})"), Error);
}

TEST_CASE("models list and error bodies") {
  auto ids = model_ids_from_openai_json(R"({"object":"list","data":[{"id":"gpt-4o"},{"id":"o3-mini"}]})");
  CHECK(ids == std::vector<std::string>{"gpt-4o", "o3-mini"});
  auto e = upstream_error_from_json(
      R"({"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","code":"context_length_exceeded","param":"messages"}})");
  CHECK(e.code == "context_length_exceeded");
  CHECK(e.param == "messages");
  auto a = upstream_error_from_json(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  CHECK(a.type == "overloaded_error");
  CHECK(a.message == "Overloaded");
  CHECK(upstream_error_from_json("<html>bad gateway</html>").message == "<html>bad gateway</html>");
  CHECK(upstream_error_from_json(R"({"error":"model not found"})").message == "model not found");
}

TEST_CASE("HTTP statuses map to error codes with the upstream message") {
  using clients::error_from_response;
  auto ctx = error_from_response("openai", 400, R"({"error":{"message":"x","code":"context_length_exceeded"}})");
  CHECK(ctx.code() == ErrorCode::context_overflow);
  CHECK(error_from_response("openai", 400, R"({"error":{"message":"Please reduce the length; this model's maximum context length is 4097"}})").code() ==
        ErrorCode::context_overflow);
  CHECK(error_from_response("openai", 400, R"({"error":{"message":"bad temperature"}})").code() == ErrorCode::invalid_argument);
  CHECK(error_from_response("openai", 401, "{}").code() == ErrorCode::unauthorized);
  CHECK(error_from_response("openai", 403, "{}").code() == ErrorCode::unauthorized);
  CHECK(error_from_response("openai", 404, "{}").code() == ErrorCode::not_found);
  CHECK(error_from_response("openai", 408, "{}").code() == ErrorCode::timeout);
  CHECK(error_from_response("openai", 500, "{}").code() == ErrorCode::upstream);
  CHECK(error_from_response("openai", 502, "{}").code() == ErrorCode::upstream);
  CHECK(error_from_response("openai", 503, "{}").code() == ErrorCode::unavailable);
  CHECK(error_from_response("openai", 504, "{}").code() == ErrorCode::timeout);
  CHECK(error_from_response("anthropic", 529, "{}").code() == ErrorCode::overloaded);
  Error rl = error_from_response("openai", 429, R"({"error":{"message":"Rate limit reached for gpt-4o"}})");
  CHECK(rl.code() == ErrorCode::rate_limited);
  CHECK(rl.upstream_status() == 429);
  CHECK(rl.upstream_message() == "Rate limit reached for gpt-4o");
}

TEST_CASE("Responses API request and response mapping") {
  ChatRequest r = sample_request();
  bj::value v = bj::parse(clients::to_responses_json(r));
  const auto& input = v.at("input").as_array();
  REQUIRE(input.size() == 4);
  CHECK(input[2].at("type").as_string() == "function_call");
  CHECK(input[2].at("call_id").as_string() == "call_1");
  CHECK(input[3].at("type").as_string() == "function_call_output");
  CHECK(input[3].at("output").as_string() == "18C");
  CHECK(v.at("max_output_tokens").to_number<int>() == 64);
  CHECK(v.at("tools").as_array()[0].at("name").as_string() == "get_weather");

  auto resp = clients::chat_response_from_responses_json(R"({"id":"resp_1","created_at":5,"model":"gpt-4.1","status":"completed",
    "output":[{"type":"reasoning","summary":[]},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi "},{"type":"output_text","text":"there"}]},
      {"type":"function_call","id":"fc_1","call_id":"call_7","name":"f","arguments":"{}"}],
    "usage":{"input_tokens":10,"output_tokens":3,"total_tokens":13,"input_tokens_details":{"cached_tokens":2}}})");
  CHECK(resp.choices[0].message.content == "Hi there");
  REQUIRE(resp.choices[0].message.tool_calls.size() == 1);
  CHECK(resp.choices[0].message.tool_calls[0].id == "call_7");
  CHECK(resp.choices[0].finish_reason == FinishReason::tool_calls);
  CHECK(resp.usage.total_tokens == 13);
  CHECK(resp.usage.cached_prompt_tokens == 2);
}

TEST_CASE("price table: defaults, prefix match, override, cost") {
  PriceTable t = PriceTable::with_defaults();
  REQUIRE(t.find("gpt-4o-mini"));
  CHECK(t.find("gpt-4o-mini-2024-07-18")->input_per_million == t.find("gpt-4o-mini")->input_per_million);
  CHECK(t.find("gpt-4o-2024-08-06")->input_per_million == t.find("gpt-4o")->input_per_million);
  CHECK(t.find("claude-3-5-sonnet-20241022"));
  CHECK_FALSE(t.find("my-local-model"));
  t.set("mine", {1.0, 2.0, 0.5});
  Usage u;
  u.prompt_tokens = 1'000'000;
  u.cached_prompt_tokens = 200'000;
  u.completion_tokens = 500'000;
  // 800k * 1.0 + 200k * 0.5 + 500k * 2.0 per million = 0.8 + 0.1 + 1.0
  CHECK(t.cost_usd("mine", u) == doctest::Approx(1.9));
  CHECK(t.cost_usd("unknown", u) == 0.0);
  t.set("mine", {2.0, 2.0, -1});
  CHECK(t.cost_usd("mine", u) == doctest::Approx(3.0));
}
