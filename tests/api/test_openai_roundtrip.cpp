// Codecs both ways: what the server side encodes, the client side decodes to
// the same values (and the reverse for requests). Expected values are the
// inputs themselves, never what the code under test computed.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "cnai/api/json.hpp"
#include "cnai/api/openai_sse.hpp"

namespace {

cnai::ChatRequest rich_request() {
  cnai::ChatRequest r;
  r.model = "gpt-4o";
  r.messages.push_back(cnai::Message::system("Be brief."));
  cnai::Message user = cnai::Message::user("");
  user.parts = {{"text", "Look:", ""}, {"image_url", "", "https://example.com/a.png"}};
  user.name = "bob";
  r.messages.push_back(user);
  cnai::Message call = cnai::Message::assistant("");
  call.tool_calls = {{"call_9", "function", "lookup", R"({"q":"x"})"}};
  r.messages.push_back(call);
  cnai::Message result = cnai::Message::make(cnai::Role::tool, "found");
  result.tool_call_id = "call_9";
  r.messages.push_back(result);
  r.sampling.temperature = 0.5f;
  r.sampling.top_p = 0.75f;
  r.sampling.top_k = 12;
  r.sampling.min_p = 0.125f;
  r.sampling.repetition_penalty = 1.25f;
  r.sampling.frequency_penalty = -0.5f;
  r.sampling.presence_penalty = 1.5f;
  r.sampling.seed = 1234567890123ULL;
  r.sampling.logit_bias = {{7, -100.0f}, {42, 2.5f}};
  r.max_tokens = 99;
  r.stop = {"\n\n", "</s>"};
  r.stream = true;
  r.stream_include_usage = true;
  r.response_format = cnai::ResponseFormat{"json_schema", R"({"type":"object"})", "thing", true};
  r.tools = {{"function", "lookup", "Looks things up", R"({"type":"object","properties":{"q":{"type":"string"}}})"}};
  r.tool_choice = "required";
  r.user = "u-1";
  return r;
}

}  // namespace

TEST_CASE("ChatRequest -> OpenAI JSON -> ChatRequest keeps every wire field") {
  const cnai::ChatRequest in = rich_request();
  const std::string body = cnai::to_openai_json(in);
  const cnai::ChatRequest out = cnai::chat_request_from_openai_json(body);
  CHECK(out.model == in.model);
  REQUIRE(out.messages.size() == in.messages.size());
  for (std::size_t i = 0; i < in.messages.size(); ++i) {
    CAPTURE(i);
    CHECK(out.messages[i].role == in.messages[i].role);
    CHECK(out.messages[i].content == in.messages[i].content);
    CHECK(out.messages[i].name == in.messages[i].name);
    CHECK(out.messages[i].tool_call_id == in.messages[i].tool_call_id);
    REQUIRE(out.messages[i].parts.size() == in.messages[i].parts.size());
    for (std::size_t p = 0; p < in.messages[i].parts.size(); ++p) {
      CHECK(out.messages[i].parts[p].type == in.messages[i].parts[p].type);
      CHECK(out.messages[i].parts[p].text == in.messages[i].parts[p].text);
      CHECK(out.messages[i].parts[p].image_url == in.messages[i].parts[p].image_url);
    }
    REQUIRE(out.messages[i].tool_calls.size() == in.messages[i].tool_calls.size());
    for (std::size_t c = 0; c < in.messages[i].tool_calls.size(); ++c) {
      CHECK(out.messages[i].tool_calls[c].id == in.messages[i].tool_calls[c].id);
      CHECK(out.messages[i].tool_calls[c].name == in.messages[i].tool_calls[c].name);
      CHECK(out.messages[i].tool_calls[c].arguments == in.messages[i].tool_calls[c].arguments);
    }
  }
  CHECK(out.sampling.temperature == in.sampling.temperature);
  CHECK(out.sampling.top_p == in.sampling.top_p);
  CHECK(out.sampling.top_k == in.sampling.top_k);
  CHECK(out.sampling.min_p == in.sampling.min_p);
  CHECK(out.sampling.repetition_penalty == in.sampling.repetition_penalty);
  CHECK(out.sampling.frequency_penalty == in.sampling.frequency_penalty);
  CHECK(out.sampling.presence_penalty == in.sampling.presence_penalty);
  CHECK(out.sampling.seed == in.sampling.seed);
  CHECK(out.sampling.logit_bias == in.sampling.logit_bias);
  CHECK(out.max_tokens == in.max_tokens);
  CHECK(out.stop == in.stop);
  CHECK(out.stream == in.stream);
  CHECK(out.stream_include_usage == in.stream_include_usage);
  REQUIRE(out.response_format);
  CHECK(out.response_format->type == "json_schema");
  CHECK(out.response_format->schema_name == "thing");
  CHECK(out.response_format->strict);
  CHECK(boost::json::parse(out.response_format->json_schema) == boost::json::parse(in.response_format->json_schema));
  REQUIRE(out.tools.size() == 1);
  CHECK(out.tools[0].name == "lookup");
  CHECK(out.tools[0].description == "Looks things up");
  CHECK(boost::json::parse(out.tools[0].parameters_json) == boost::json::parse(in.tools[0].parameters_json));
  CHECK(out.tool_choice == in.tool_choice);
  CHECK(out.user == in.user);
  // And the decoded request encodes to the same body.
  CHECK(boost::json::parse(cnai::to_openai_json(out)) == boost::json::parse(body));
}

TEST_CASE("ChatResponse -> OpenAI JSON -> ChatResponse, cnai extras included") {
  cnai::ChatResponse in;
  in.id = "chatcmpl-1";
  in.model = "SmolLM2";
  in.created = 1700000000;
  in.backend = "local";
  cnai::Choice c;
  c.index = 0;
  c.message = cnai::Message::assistant("Paris.");
  c.message.tool_calls = {{"call_1", "function", "f", "{}"}};
  c.finish_reason = cnai::FinishReason::tool_calls;
  c.token_ids = {1, 2, 3, 49152};
  in.choices.push_back(c);
  in.usage = {11, 4, 15, 6, 0.25};
  in.timings.time_to_first_token_ms = 12.5;
  in.timings.total_ms = 40.0;
  in.timings.queue_ms = 3.5;
  in.timings.prompt_tokens_per_s = 900.0;
  in.timings.completion_tokens_per_s = 210.5;
  const cnai::ChatResponse out = cnai::chat_response_from_openai_json(cnai::to_openai_json(in));
  CHECK(out.id == in.id);
  CHECK(out.model == in.model);
  CHECK(out.created == in.created);
  CHECK(out.backend == in.backend);
  REQUIRE(out.choices.size() == 1);
  CHECK(out.choices[0].message.content == "Paris.");
  CHECK(out.choices[0].message.role == cnai::Role::assistant);
  REQUIRE(out.choices[0].message.tool_calls.size() == 1);
  CHECK(out.choices[0].message.tool_calls[0].id == "call_1");
  CHECK(out.choices[0].finish_reason == cnai::FinishReason::tool_calls);
  CHECK(out.choices[0].token_ids == c.token_ids);
  CHECK(out.usage.prompt_tokens == 11);
  CHECK(out.usage.completion_tokens == 4);
  CHECK(out.usage.total_tokens == 15);
  CHECK(out.usage.cached_prompt_tokens == 6);
  CHECK(out.usage.cost_usd == 0.25);
  CHECK(out.timings.time_to_first_token_ms == 12.5);
  CHECK(out.timings.queue_ms == 3.5);
  CHECK(out.timings.prompt_tokens_per_s == 900.0);
  CHECK(out.timings.completion_tokens_per_s == 210.5);
}

TEST_CASE("ChatChunk -> chunk JSON -> ChatChunk") {
  cnai::ChatChunk in;
  in.id = "chatcmpl-2";
  in.model = "chunk-model";
  in.delta_role = cnai::Role::assistant;
  in.delta_content = "Hel";
  in.tool_calls = {{1, "call_a", "lookup", R"({"q":)"}};
  in.finish_reason = cnai::FinishReason::length;
  in.usage = cnai::Usage{3, 2, 5, 0, 0};
  const std::string json = cnai::to_openai_json(in, 1700000001);
  const auto doc = boost::json::parse(json).as_object();
  CHECK(doc.at("object") == "chat.completion.chunk");
  CHECK(doc.at("created") == 1700000001);
  const cnai::ChatChunk out = cnai::chat_chunk_from_openai_json(json);
  CHECK(out.id == in.id);
  CHECK(out.model == in.model);
  CHECK(out.delta_role == in.delta_role);
  CHECK(out.delta_content == in.delta_content);
  REQUIRE(out.tool_calls.size() == 1);
  CHECK(out.tool_calls[0].index == 1);
  CHECK(out.tool_calls[0].id == "call_a");
  CHECK(out.tool_calls[0].name == "lookup");
  CHECK(out.tool_calls[0].arguments == R"({"q":)");
  CHECK(out.finish_reason == cnai::FinishReason::length);
  REQUIRE(out.usage);
  CHECK(out.usage->total_tokens == 5);
}

TEST_CASE("SSE writer: include_usage adds a usage-only chunk, [DONE] ends, errors are events") {
  cnai::ChatChunk last;
  last.id = std::string(1, 'c');
  last.model = "m";
  last.finish_reason = cnai::FinishReason::stop;
  last.usage = cnai::Usage{5, 7, 12, 0, 0};

  cnai::OpenAiSseWriter with({.include_usage = true, .created = 9});
  const std::string events = with.chunk(last);
  const auto first_end = events.find("\n\n");
  REQUIRE(first_end != std::string::npos);
  REQUIRE(events.starts_with("data: "));
  const auto finish = boost::json::parse(events.substr(6, first_end - 6)).as_object();
  CHECK(finish.at("usage").is_null());
  CHECK(finish.at("choices").as_array().at(0).as_object().at("finish_reason") == "stop");
  const std::string second = events.substr(first_end + 2);
  REQUIRE(second.starts_with("data: "));
  REQUIRE(second.ends_with("\n\n"));
  const auto usage_only = boost::json::parse(second.substr(6, second.size() - 8)).as_object();
  CHECK(usage_only.at("choices").as_array().empty());
  CHECK(usage_only.at("usage").as_object().at("completion_tokens") == 7);
  CHECK(with.done() == "data: [DONE]\n\n");

  cnai::OpenAiSseWriter without({.include_usage = false, .created = 9});
  const std::string plain = without.chunk(last);
  CHECK(plain.find("usage") == std::string::npos);
  CHECK(plain.find("\n\n") == plain.size() - 2);  // one event

  const std::string err = without.error(cnai::Error(cnai::ErrorCode::overloaded, "engine queue full"));
  REQUIRE(err.starts_with("data: {"));
  const cnai::UpstreamErrorBody body = cnai::upstream_error_from_json(err.substr(6));
  CHECK(body.message.find("engine queue full") != std::string::npos);
  CHECK(body.code == "overloaded");
  CHECK(body.type == "server_error");
}

TEST_CASE("Error bodies and statuses for servers") {
  const cnai::UpstreamErrorBody e =
      cnai::upstream_error_from_json(cnai::openai_error_json(cnai::Error(cnai::ErrorCode::context_overflow, "too long")));
  CHECK(e.code == "context_length_exceeded");
  CHECK(e.type == "invalid_request_error");
  CHECK(e.message.find("too long") != std::string::npos);
  CHECK(cnai::http_status_for(cnai::ErrorCode::invalid_argument) == 400);
  CHECK(cnai::http_status_for(cnai::ErrorCode::unauthorized) == 401);
  CHECK(cnai::http_status_for(cnai::ErrorCode::not_found) == 404);
  CHECK(cnai::http_status_for(cnai::ErrorCode::rate_limited) == 429);
  CHECK(cnai::http_status_for(cnai::ErrorCode::upstream) == 502);
  CHECK(cnai::http_status_for(cnai::ErrorCode::overloaded) == 503);
  CHECK(cnai::http_status_for(cnai::ErrorCode::timeout) == 504);
  CHECK(cnai::http_status_for(cnai::ErrorCode::internal) == 500);
}

TEST_CASE("EmbeddingResponse -> JSON (float and base64) -> the same floats, bit for bit") {
  cnai::EmbeddingResponse in;
  in.model = "all-MiniLM-L6-v2";
  in.data = {{0.1f, -2.5e-8f, 3.4028235e38f, 1.0f / 3.0f, -0.0f}, {std::numeric_limits<float>::denorm_min(), 7.0f}};
  in.usage.prompt_tokens = in.usage.total_tokens = 9;
  for (const std::string format : {"float", "base64"}) {
    CAPTURE(format);
    const cnai::EmbeddingResponse out = cnai::embedding_response_from_openai_json(cnai::to_openai_json(in, format));
    CHECK(out.model == in.model);
    CHECK(out.usage.prompt_tokens == 9);
    REQUIRE(out.data.size() == in.data.size());
    for (std::size_t i = 0; i < in.data.size(); ++i) {
      REQUIRE(out.data[i].size() == in.data[i].size());
      for (std::size_t j = 0; j < in.data[i].size(); ++j) {
        CHECK(std::signbit(out.data[i][j]) == std::signbit(in.data[i][j]));
        CHECK(out.data[i][j] == in.data[i][j]);
      }
    }
  }
  CHECK_THROWS_AS(cnai::to_openai_json(in, "hex"), cnai::Error);
}
