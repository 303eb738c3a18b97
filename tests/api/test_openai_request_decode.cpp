// Decoding OpenAI request bodies (what a server receives): the bodies the
// official openai SDK sends (tests/api/openai_sdk_bodies/, kept equal to the
// SDK's output by tests/reference/test_openai_sdk_bodies.py), and malformed
// ones, which are the client's fault (invalid_argument naming the field).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "cnai/api/backend.hpp"
#include "cnai/api/json.hpp"
#include "cnai/core/error.hpp"

using cnai::ErrorCode;

namespace {

std::string sdk_body(const std::string& name) {
  const std::string path = std::string(CNAI_SOURCE_DIR) + "/tests/api/openai_sdk_bodies/" + name + ".json";
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing fixture " << path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The Error a call throws; fails the test when it throws none or another type.
template <class F>
cnai::Error error_of(F&& f) {
  try {
    f();
  } catch (const cnai::Error& e) {
    return e;
  }
  FAIL("expected a cnai::Error");
  return cnai::Error(ErrorCode::internal, "unreachable");
}

void check_rejected(const std::string& body, ErrorCode code, const std::string& names) {
  CAPTURE(body);
  const cnai::Error e = error_of([&] { cnai::chat_request_from_openai_json(body); });
  CHECK(e.code() == code);
  CHECK_MESSAGE(std::string(e.what()).find(names) != std::string::npos, e.what());
}

}  // namespace

TEST_CASE("SDK body: system + user, temperature, max_tokens") {
  const cnai::ChatRequest r = cnai::chat_request_from_openai_json(sdk_body("chat_basic"));
  CHECK(r.model == "gpt-4o-mini");
  REQUIRE(r.messages.size() == 2);
  CHECK(r.messages[0].role == cnai::Role::system);
  CHECK(r.messages[0].content == "You are terse.");
  CHECK(r.messages[1].role == cnai::Role::user);
  CHECK(r.messages[1].content == "What is the capital of France?");
  REQUIRE(r.sampling.temperature);
  CHECK(*r.sampling.temperature == doctest::Approx(0.2));
  CHECK(r.max_tokens == 64);
  CHECK_FALSE(r.stream);
  CHECK_NOTHROW(cnai::validate_chat_request(r));
}

TEST_CASE("SDK body: streaming with usage, stops, seed, penalties, logit bias, metadata") {
  const cnai::ChatRequest r = cnai::chat_request_from_openai_json(sdk_body("chat_stream"));
  CHECK(r.stream);
  CHECK(r.stream_include_usage);
  REQUIRE(r.messages.size() == 2);
  CHECK(r.messages[0].role == cnai::Role::developer);
  CHECK(r.messages[1].name == "ana");
  CHECK(r.stop == std::vector<std::string>{"\n\n", "END"});
  CHECK(r.sampling.seed == static_cast<std::uint64_t>(-7));
  CHECK(*r.sampling.top_p == doctest::Approx(0.9));
  CHECK(*r.sampling.presence_penalty == doctest::Approx(0.5));
  CHECK(*r.sampling.frequency_penalty == doctest::Approx(-0.25));
  CHECK(r.sampling.logit_bias.size() == 2);
  CHECK(r.sampling.logit_bias.at(50256) == -100.0f);
  CHECK(r.sampling.logit_bias.at(13) == 5.0f);
  CHECK(r.max_tokens == 32);  // max_completion_tokens
  CHECK(r.user == "user-42");
  CHECK(r.metadata.at("team") == "search");
}

TEST_CASE("SDK body: tools, a tool call and its result, a named tool choice") {
  const cnai::ChatRequest r = cnai::chat_request_from_openai_json(sdk_body("chat_tools"));
  REQUIRE(r.tools.size() == 1);
  CHECK(r.tools[0].name == "get_weather");
  CHECK(r.tools[0].description == "Current weather in a city");
  CHECK(r.tools[0].parameters_json.find("\"required\":[\"city\"]") != std::string::npos);
  CHECK(r.tool_choice == "get_weather");
  REQUIRE(r.messages.size() == 3);
  const cnai::Message& call = r.messages[1];
  CHECK(call.role == cnai::Role::assistant);
  CHECK(call.content.empty());
  REQUIRE(call.tool_calls.size() == 1);
  CHECK(call.tool_calls[0].id == "call_1");
  CHECK(call.tool_calls[0].name == "get_weather");
  CHECK(call.tool_calls[0].arguments == "{\"city\": \"Paris\"}");
  CHECK(r.messages[2].role == cnai::Role::tool);
  CHECK(r.messages[2].tool_call_id == "call_1");
  CHECK(r.messages[2].content == "18 C, sunny");
}

TEST_CASE("SDK body: text and image parts") {
  const cnai::ChatRequest r = cnai::chat_request_from_openai_json(sdk_body("chat_parts"));
  REQUIRE(r.messages.size() == 1);
  const auto& parts = r.messages[0].parts;
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].type == "text");
  CHECK(parts[0].text == "What is in this picture?");
  CHECK(parts[1].type == "image_url");
  CHECK(parts[1].image_url == "https://example.com/cat.png");
}

TEST_CASE("SDK body: json_schema response format, tool_choice none, vLLM sampling extras") {
  const cnai::ChatRequest r = cnai::chat_request_from_openai_json(sdk_body("chat_json_schema"));
  REQUIRE(r.response_format);
  CHECK(r.response_format->type == "json_schema");
  CHECK(r.response_format->schema_name == "city");
  CHECK(r.response_format->strict);
  CHECK(r.response_format->json_schema.find("\"additionalProperties\":false") != std::string::npos);
  CHECK(r.tool_choice == "none");

  const cnai::ChatRequest x = cnai::chat_request_from_openai_json(sdk_body("chat_extra_body"));
  CHECK(x.sampling.top_k == 20);
  CHECK(*x.sampling.min_p == doctest::Approx(0.05));
  CHECK(*x.sampling.repetition_penalty == doctest::Approx(1.1));
}

TEST_CASE("SDK body: n = 2 is valid OpenAI that cnai does not serve") {
  const cnai::Error e = error_of([] { cnai::chat_request_from_openai_json(sdk_body("chat_n2")); });
  CHECK(e.code() == ErrorCode::unsupported);
  CHECK(std::string(e.what()).find("'n'") != std::string::npos);
}

TEST_CASE("SDK body: embeddings (the SDK asks for base64 by default) and lists of inputs") {
  const cnai::EmbeddingRequest d = cnai::embedding_request_from_openai_json(sdk_body("embeddings_default"));
  CHECK(d.model == "text-embedding-3-small");
  CHECK(d.input == std::vector<std::string>{"hello world"});
  CHECK(d.encoding_format == "base64");
  const cnai::EmbeddingRequest l = cnai::embedding_request_from_openai_json(sdk_body("embeddings_list"));
  CHECK(l.input == std::vector<std::string>{"a", "b c"});
  CHECK(l.dimensions == 256);
  CHECK(l.encoding_format == "float");
  CHECK(l.user == "u1");
}

TEST_CASE("Malformed chat requests are the client's fault and name the field") {
  const std::string msgs = R"("messages":[{"role":"user","content":"hi"}])";
  check_rejected("{\"model\":\"m\",", ErrorCode::invalid_argument, "malformed JSON");
  check_rejected("[1,2]", ErrorCode::invalid_argument, "JSON object");
  check_rejected("{" + msgs + "}", ErrorCode::invalid_argument, "'model' is missing");
  check_rejected(R"({"model":"m"})", ErrorCode::invalid_argument, "'messages' is missing");
  check_rejected(R"({"model":7,)" + msgs + "}", ErrorCode::invalid_argument, "'model' expected a string");
  check_rejected(R"({"model":"m","messages":{}})", ErrorCode::invalid_argument, "'messages' expected an array");
  check_rejected(R"({"model":"m","messages":["hi"]})", ErrorCode::invalid_argument, "'messages[0]' expected an object");
  check_rejected(R"({"model":"m","messages":[{"content":"hi"}]})", ErrorCode::invalid_argument, "'messages[0].role' is missing");
  check_rejected(R"({"model":"m","messages":[{"role":"robot","content":"hi"}]})", ErrorCode::invalid_argument, "messages[0].role");
  check_rejected(R"({"model":"m","messages":[{"role":"user","content":5}]})", ErrorCode::invalid_argument, "messages[0].content");
  check_rejected(R"({"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]})", ErrorCode::invalid_argument,
                 "messages[0].content[0].text");
  check_rejected(R"({"model":"m","messages":[{"role":"user","content":[{"type":"input_audio"}]}]})", ErrorCode::unsupported,
                 "messages[0].content[0].type");
  check_rejected(R"({"model":"m","messages":[{"role":"tool","content":"x"}]})", ErrorCode::invalid_argument,
                 "messages[0].tool_call_id");
  check_rejected(R"({"model":"m",)" + msgs + R"(,"temperature":"hot"})", ErrorCode::invalid_argument, "'temperature' expected a number");
  check_rejected(R"({"model":"m",)" + msgs + R"(,"max_tokens":1e12})", ErrorCode::invalid_argument, "'max_tokens'");
  check_rejected(R"({"model":"m",)" + msgs + R"(,"max_tokens":1.5})", ErrorCode::invalid_argument, "'max_tokens' expected an integer");
  check_rejected(R"({"model":"m",)" + msgs + R"(,"stop":[1]})", ErrorCode::invalid_argument, "'stop[0]'");
  check_rejected(R"({"model":"m",)" + msgs + R"(,"logit_bias":{"abc":1}})", ErrorCode::invalid_argument, "logit_bias.abc");
  check_rejected(R"({"model":"m",)" + msgs + R"(,"logit_bias":{"5":"x"}})", ErrorCode::invalid_argument, "logit_bias.5");
  check_rejected(R"({"model":"m",)" + msgs + R"(,"stream":"yes"})", ErrorCode::invalid_argument, "'stream' expected a boolean");
  check_rejected(R"({"model":"m",)" + msgs + R"(,"tool_choice":"maybe"})", ErrorCode::invalid_argument, "'tool_choice'");
  check_rejected(R"({"model":"m",)" + msgs + R"(,"tools":[{"type":"function","function":{}}]})", ErrorCode::invalid_argument,
                 "tools[0].function.name");
  check_rejected(R"({"model":"m",)" + msgs + R"(,"response_format":{"type":"yaml"}})", ErrorCode::invalid_argument,
                 "response_format.type");
  check_rejected(R"({"model":"m",)" + msgs + R"(,"logprobs":true})", ErrorCode::unsupported, "'logprobs'");
}

TEST_CASE("Malformed embedding requests name the field") {
  auto rejected = [](const std::string& body, ErrorCode code, const std::string& names) {
    CAPTURE(body);
    const cnai::Error e = error_of([&] { cnai::embedding_request_from_openai_json(body); });
    CHECK(e.code() == code);
    CHECK_MESSAGE(std::string(e.what()).find(names) != std::string::npos, e.what());
  };
  rejected(R"({"input":"x"})", ErrorCode::invalid_argument, "'model' is missing");
  rejected(R"({"model":"m"})", ErrorCode::invalid_argument, "'input' is missing");
  rejected(R"({"model":"m","input":[[1,2,3]]})", ErrorCode::unsupported, "input[0]");
  rejected(R"({"model":"m","input":["a",null]})", ErrorCode::invalid_argument, "input[1]");
  rejected(R"({"model":"m","input":"a","dimensions":"big"})", ErrorCode::invalid_argument, "'dimensions'");
}

TEST_CASE("Control characters of a malformed body are escaped in the message") {
  const cnai::Error e = error_of([] { cnai::chat_request_from_openai_json("\x1b[31m{oops"); });
  CHECK(e.code() == ErrorCode::invalid_argument);
  const std::string what = e.what();
  CHECK(what.find('\x1b') == std::string::npos);
  CHECK(what.find("\\x1b[31m") != std::string::npos);
}
