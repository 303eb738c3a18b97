// Anthropic's Messages API (POST /v1/messages, JSON and SSE) and the Chat
// Completions fields that travel to the backend (tools, tool_choice, stop,
// seed, logit_bias, n > 1), over the loopback upstream of server_fixture.hpp:
// what the upstream receives is checked as well as what the client gets.
#include <mutex>

#include "server/server_fixture.hpp"

namespace bj = boost::json;
using namespace std::chrono_literals;
using cnai::test::Fixture;
using cnai::test::RawClient;
using cnai::test::TestRequest;
using cnai::test::TestResponse;
using cnai::test::body_of;
using cnai::test::http_request;
using cnai::test::status_of;

namespace {

const char* kToolCallBody = R"({"id":"chatcmpl-t","object":"chat.completion","created":1700000000,"model":"up-model",
  "choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
  "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}],
  "usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29}})";

std::string tool_chunk(const std::string& delta_tool, const std::string& finish = "null") {
  return R"(data: {"id":"c1","object":"chat.completion.chunk","model":"up-model","choices":[{"index":0,"delta":{"tool_calls":[)" +
         delta_tool + R"(]},"finish_reason":)" + finish + "}]}\n\n";
}

// The upstream's received bodies, in order.
struct Recorder {
  std::mutex m;
  std::vector<bj::value> bodies;
  void add(const TestRequest& req) {
    std::lock_guard lock(m);
    bodies.push_back(bj::parse(req.body));
  }
  bj::value at(std::size_t i) {
    std::lock_guard lock(m);
    return bodies.at(i);
  }
  std::size_t size() {
    std::lock_guard lock(m);
    return bodies.size();
  }
};

void answer_with_tool_calls(Fixture& f, Recorder& rec) {
  f.upstream.chat_reply = [&rec](const TestRequest& req) {
    rec.add(req);
    if (req.body.find("\"stream\":true") == std::string::npos) return TestResponse::json(kToolCallBody);
    return TestResponse::sse({tool_chunk(R"({"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}})"),
                              tool_chunk(R"({"index":0,"function":{"arguments":"{\"city\""}})"),
                              tool_chunk(R"({"index":0,"function":{"arguments":":\"Paris\"}"}})"),
                              tool_chunk(R"({"index":0,"function":{"arguments":""}})", "\"tool_calls\""), "data: [DONE]\n\n"});
  };
}

// The SSE events of a chunked response, in order: (event name, data).
std::vector<std::pair<std::string, bj::value>> events_of(const std::string& response) {
  std::vector<std::pair<std::string, bj::value>> out;
  for (std::size_t p = response.find("event: "); p != std::string::npos; p = response.find("event: ", p + 1)) {
    const auto nl = response.find('\n', p);
    const auto data = response.find("data: ", nl);
    const auto end = response.find("\n\n", data);
    out.emplace_back(response.substr(p + 7, nl - p - 7), bj::parse(response.substr(data + 6, end - data - 6)));
  }
  return out;
}

const std::string kMessage = R"({"model":"up-model","max_tokens":64,"system":"Be brief.","stop_sequences":["\n\n"],
  "messages":[{"role":"user","content":"hi"}]})";

}  // namespace

TEST_CASE("POST /v1/messages: Anthropic's request and message shapes, over the backend") {
  Fixture f(Fixture::base_options(), false);
  Recorder rec;
  f.upstream.chat_reply = [&](const TestRequest& req) {
    rec.add(req);
    return TestResponse::json(cnai::test::kChatBody);
  };
  const bj::value m = f.json_call("POST", "/v1/messages", kMessage);
  CHECK(m.at("type") == "message");
  CHECK(m.at("role") == "assistant");
  CHECK(std::string(m.at("id").as_string()).starts_with("msg_"));
  CHECK(m.at("content").at(0).at("type") == "text");
  CHECK(m.at("content").at(0).at("text") == "Hello there");
  CHECK(m.at("stop_reason") == "end_turn");
  CHECK(m.at("usage").at("input_tokens") == 5);
  CHECK(m.at("usage").at("output_tokens") == 2);
  const bj::value sent = rec.at(0);  // what the OpenAI-compatible upstream got
  CHECK(sent.at("messages").at(0).at("role") == "system");
  CHECK(sent.at("messages").at(0).at("content") == "Be brief.");
  CHECK(sent.at("messages").at(1).at("content") == "hi");
  CHECK(sent.at("max_tokens") == 64);
  CHECK(sent.at("stop").at(0) == "\n\n");

  // A conversation with a tool round trip: tool_use from the assistant, tool_result from the user.
  f.json_call("POST", "/v1/messages", R"({"model":"up-model","max_tokens":16,"messages":[
    {"role":"user","content":[{"type":"text","text":"Weather in Paris?"}]},
    {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"18 C"},{"type":"text","text":"And?"}]}]})");
  const bj::value turn = rec.at(1);
  const auto& msgs = turn.at("messages").as_array();
  REQUIRE(msgs.size() == 4);
  CHECK(msgs[1].at("tool_calls").at(0).at("function").at("name") == "get_weather");
  CHECK(bj::parse(msgs[1].at("tool_calls").at(0).at("function").at("arguments").as_string()).at("city") == "Paris");
  CHECK(msgs[2].at("role") == "tool");
  CHECK(msgs[2].at("tool_call_id") == "toolu_1");
  CHECK(msgs[2].at("content") == "18 C");
  CHECK(msgs[3].at("content") == "And?");
}

TEST_CASE("POST /v1/messages streams Anthropic's events") {
  Fixture f(Fixture::base_options(), false);
  RawClient c(f.server->port());
  std::string body = kMessage;
  body.insert(1, "\"stream\":true,");
  c.send(http_request("POST", "/v1/messages", body));
  const std::string r = c.read(10s, "0\r\n\r\n");
  CHECK(status_of(r) == 200);
  CHECK(r.find("text/event-stream") != std::string::npos);
  const auto ev = events_of(r);
  REQUIRE(ev.size() >= 7);
  CHECK(ev.front().first == "message_start");
  CHECK(ev.front().second.at("message").at("role") == "assistant");
  CHECK(ev[1].first == "content_block_start");
  CHECK(ev[1].second.at("content_block").at("type") == "text");
  std::string text;
  for (const auto& [name, data] : ev) {
    CHECK(std::string(data.at("type").as_string()) == name);  // each event's data names its event
    if (name == "content_block_delta") text += std::string(data.at("delta").at("text").as_string());
  }
  CHECK(text == "Hello there");
  CHECK(ev[ev.size() - 3].first == "content_block_stop");
  CHECK(ev[ev.size() - 2].first == "message_delta");
  CHECK(ev[ev.size() - 2].second.at("delta").at("stop_reason") == "end_turn");
  CHECK(ev.back().first == "message_stop");
}

TEST_CASE("POST /v1/messages: tools in, tool_use blocks out (JSON and SSE)") {
  Fixture f(Fixture::base_options(), false);
  Recorder rec;
  answer_with_tool_calls(f, rec);
  const std::string req = R"({"model":"up-model","max_tokens":64,"tool_choice":{"type":"any"},
    "tools":[{"name":"get_weather","description":"Weather by city","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
    "messages":[{"role":"user","content":"Weather in Paris?"}]})";
  const bj::value m = f.json_call("POST", "/v1/messages", req);
  CHECK(m.at("stop_reason") == "tool_use");
  const auto& block = m.at("content").at(0);
  CHECK(block.at("type") == "tool_use");
  CHECK(block.at("id") == "call_1");
  CHECK(block.at("name") == "get_weather");
  CHECK(block.at("input").at("city") == "Paris");  // an object, not the arguments' text
  const bj::value sent = rec.at(0);
  CHECK(sent.at("tools").at(0).at("function").at("name") == "get_weather");
  CHECK(sent.at("tools").at(0).at("function").at("parameters").at("properties").at("city").at("type") == "string");
  CHECK(sent.at("tool_choice") == "required");

  RawClient c(f.server->port());
  std::string streamed = req;
  streamed.insert(1, "\"stream\":true,");
  c.send(http_request("POST", "/v1/messages", streamed));
  const auto ev = events_of(c.read(10s, "0\r\n\r\n"));
  std::string json;
  bool started = false;
  for (const auto& [name, data] : ev) {
    if (name == "content_block_start" && data.at("content_block").at("type") == "tool_use") {
      started = true;
      CHECK(data.at("content_block").at("name") == "get_weather");
    }
    if (name == "content_block_delta") {
      CHECK(data.at("delta").at("type") == "input_json_delta");
      json += std::string(data.at("delta").at("partial_json").as_string());
    }
    if (name == "message_delta") CHECK(data.at("delta").at("stop_reason") == "tool_use");
  }
  CHECK(started);
  CHECK(bj::parse(json).at("city") == "Paris");
}

TEST_CASE("POST /v1/messages: errors in Anthropic's shape, before and after routing") {
  cnai::ServerOptions o = Fixture::base_options();
  o.api_keys = {{"team", cnai::sha256_hex("sk-team"), 0}};
  Fixture f(o, false);
  const std::string no_key = f.call("POST", "/v1/messages", kMessage);
  CHECK(status_of(no_key) == 401);
  CHECK(bj::parse(body_of(no_key)).at("type") == "error");
  CHECK(bj::parse(body_of(no_key)).at("error").at("type") == "authentication_error");
  const std::string key = "x-api-key: sk-team\r\nanthropic-version: 2023-06-01\r\n";
  const std::string missing = f.call("POST", "/v1/messages", R"({"model":"m","messages":[{"role":"user","content":"hi"}]})", key);
  CHECK(status_of(missing) == 400);
  const bj::value e = bj::parse(body_of(missing));
  CHECK(e.at("error").at("type") == "invalid_request_error");
  CHECK(std::string(e.at("error").at("message").as_string()).find("max_tokens") != std::string::npos);
  const std::string role = f.call("POST", "/v1/messages", R"({"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]})", key);
  CHECK(status_of(role) == 400);
  CHECK(std::string(bj::parse(body_of(role)).at("error").at("message").as_string()).find("messages[0].role") != std::string::npos);
  const std::string block = f.call("POST", "/v1/messages",
                                   R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"audio"}]}]})", key);
  CHECK(status_of(block) == 400);
  CHECK(status_of(f.call("POST", "/v1/messages", kMessage, key)) == 200);
}

TEST_CASE("Chat Completions: tools and tool_choice reach the backend, tool calls come back (JSON and SSE)") {
  Fixture f(Fixture::base_options(), false);
  Recorder rec;
  answer_with_tool_calls(f, rec);
  const std::string req = R"({"model":"up-model","messages":[{"role":"user","content":"Weather in Paris?"}],
    "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],
    "tool_choice":{"type":"function","function":{"name":"get_weather"}},"seed":7,"logit_bias":{"42":-100},"stop":["END"]})";
  const bj::value r = f.json_call("POST", "/v1/chat/completions", req);
  const auto& choice = r.at("choices").at(0);
  CHECK(choice.at("finish_reason") == "tool_calls");
  CHECK(choice.at("message").at("tool_calls").at(0).at("function").at("name") == "get_weather");
  CHECK(choice.at("message").at("tool_calls").at(0).at("function").at("arguments") == "{\"city\":\"Paris\"}");
  const bj::value sent = rec.at(0);
  CHECK(sent.at("tools").at(0).at("function").at("name") == "get_weather");
  CHECK(sent.at("tool_choice").at("function").at("name") == "get_weather");
  CHECK(sent.at("seed") == 7);
  CHECK(sent.at("logit_bias").at("42").to_number<double>() == -100);
  CHECK(sent.at("stop").at(0) == "END");

  RawClient c(f.server->port());
  std::string streamed = req;
  streamed.insert(1, "\"stream\":true,");
  c.send(http_request("POST", "/v1/chat/completions", streamed));
  const std::string s = c.read(10s, "0\r\n\r\n");
  CHECK(s.find("\"tool_calls\":[{\"index\":0,\"id\":\"call_1\"") != std::string::npos);
  CHECK(s.find("\"finish_reason\":\"tool_calls\"") != std::string::npos);
  CHECK(s.find("data: [DONE]") != std::string::npos);
}

TEST_CASE("Chat Completions n > 1: one backend call per choice (seed + i), or a 400 naming n") {
  Fixture f(Fixture::base_options(), false);
  Recorder rec;
  f.upstream.chat_reply = [&](const TestRequest& req) {
    rec.add(req);
    if (req.body.find("\"stream\":true") != std::string::npos) {
      return TestResponse::sse({cnai::test::chunk("Hi"), cnai::test::chunk("", "\"stop\""), "data: [DONE]\n\n"});
    }
    return TestResponse::json(cnai::test::kChatBody);
  };
  const bj::value r = f.json_call("POST", "/v1/chat/completions",
                                  R"({"model":"up-model","messages":[{"role":"user","content":"hi"}],"n":3,"seed":10})");
  const auto& choices = r.at("choices").as_array();
  REQUIRE(choices.size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(choices[i].at("index") == i);
    CHECK(choices[i].at("message").at("content") == "Hello there");
  }
  CHECK(r.at("usage").at("prompt_tokens") == 5);       // the prompt, once
  CHECK(r.at("usage").at("completion_tokens") == 6);   // 3 x 2
  REQUIRE(rec.size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(rec.at(i).at("seed") == 10 + i);
    CHECK_FALSE(rec.at(i).as_object().contains("n"));  // each backend call is one choice
  }

  RawClient c(f.server->port());
  c.send(http_request("POST", "/v1/chat/completions",
                      R"({"model":"up-model","messages":[{"role":"user","content":"hi"}],"n":2,"stream":true,)"
                      R"("stream_options":{"include_usage":true}})"));
  const std::string s = c.read(10s, "0\r\n\r\n");
  CHECK(s.find("\"index\":0,\"delta\":{\"content\":\"Hi\"}") != std::string::npos);
  CHECK(s.find("\"index\":1,\"delta\":{\"content\":\"Hi\"}") != std::string::npos);
  CHECK(s.find("\"choices\":[],\"usage\":{") != std::string::npos);
  CHECK(s.find("data: [DONE]") != std::string::npos);

  for (const char* bad : {R"("n":0)", R"("n":9)", R"("n":"two")", R"("n":1.5)"}) {
    const bj::value e = f.json_call("POST", "/v1/chat/completions",
                                    std::string(R"({"model":"up-model","messages":[{"role":"user","content":"hi"}],)") + bad + "}", 400);
    CHECK_MESSAGE(e.at("error").at("param") == "n", bad);
  }
  f.json_call("POST", "/v1/chat/completions", R"({"model":"up-model","messages":[{"role":"user","content":"hi"}],"n":1})");
  f.json_call("POST", "/v1/chat/completions", R"({"model":"up-model","messages":[{"role":"user","content":"hi"}],"n":null})");
}
