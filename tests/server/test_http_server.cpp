// HttpServer over a real backend (see server_fixture.hpp): probes, models,
// errors in OpenAI's shape, Responses (plain, streamed, background), Files
// and Batches over HTTP, and the edges: oversized and malformed requests,
// slow headers, API keys and their rate limits, overload, connection limit,
// disconnects cancelling work, drain.
#include "server/server_fixture.hpp"

namespace bj = boost::json;
using namespace std::chrono_literals;
using cnai::test::Fixture;
using cnai::test::RawClient;
using cnai::test::body_of;
using cnai::test::http_request;
using cnai::test::multipart_file;
using cnai::test::status_of;
using cnai::test::wait_for;

TEST_CASE("Probes, models, and errors in OpenAI's shape") {
  Fixture f;
  CHECK(f.json_call("GET", "/healthz").at("status") == "ok");
  CHECK(f.json_call("GET", "/readyz").at("status") == "ready");
  auto models = f.json_call("GET", "/v1/models");
  CHECK(models.at("object") == "list");
  CHECK(models.at("data").at(0).at("id") == "up-model");
  CHECK(f.json_call("GET", "/v1/models/up-model").at("object") == "model");
  auto missing = f.json_call("GET", "/v1/models/nope", {}, 404);
  CHECK(missing.at("error").at("type") == "invalid_request_error");
  auto unknown = f.json_call("GET", "/v1/nothing", {}, 404);
  CHECK(unknown.at("error").at("code") == "unknown_url");
  f.json_call("DELETE", "/v1/models", {}, 405);
  auto bad = f.json_call("POST", "/v1/responses", "{not json", 400);
  CHECK(bad.at("error").at("param") == "body");
  auto no_input = f.json_call("POST", "/v1/responses", R"({"model":"up-model"})", 400);
  CHECK(no_input.at("error").at("param") == "input");
  const std::string metrics = f.call("GET", "/metrics");
  CHECK(status_of(metrics) == 200);
  CHECK(metrics.find("cnai_server_requests_total{route=\"/v1/models\",status=\"200\"}") != std::string::npos);
  CHECK(metrics.find("cnai_jobs_queue_entries{state=\"ready\"}") != std::string::npos);
  CHECK(metrics.find("cnai_backend_up{backend=\"" + f.backend.name() + "\"} 1") != std::string::npos);
  CHECK(metrics.find("cnai_backend_queue_depth{") != std::string::npos);
}

TEST_CASE("A body that is not one JSON object is refused by name on Completions, Responses and Batches") {
  Fixture f(Fixture::base_options(), false);
  for (const char* target : {"/v1/completions", "/v1/responses", "/v1/batches"}) {
    CAPTURE(target);
    const auto malformed = f.json_call("POST", target, "{not json", 400);
    CHECK(malformed.at("error").at("param") == "body");
    CHECK(std::string(malformed.at("error").at("message").as_string()).starts_with("body: malformed JSON ("));
    const auto deep = f.json_call("POST", target, std::string(100, '[') + std::string(100, ']'), 400);
    CHECK(std::string(deep.at("error").at("message").as_string()).starts_with("body: malformed JSON ("));
    const auto array = f.json_call("POST", target, "[1]", 400);
    CHECK(array.at("error").at("message") == "body: expected a JSON object");
  }
  CHECK(f.upstream.calls == 0);
}

TEST_CASE("Responses: plain, streamed as Responses events, and in the background") {
  Fixture f;
  auto r = f.json_call("POST", "/v1/responses", R"({"model":"up-model","input":"hi","instructions":"Be brief."})");
  CHECK(r.at("object") == "response");
  CHECK(r.at("status") == "completed");
  CHECK(r.at("output").at(0).at("content").at(0).at("text") == "Hello there");
  CHECK(r.at("usage").at("output_tokens") == 2);
  CHECK(r.at("instructions") == "Be brief.");

  RawClient sc(f.server->port());
  sc.send(http_request("POST", "/v1/responses", R"({"model":"up-model","input":"hi","stream":true})"));
  const std::string streamed = sc.read(10s, "0\r\n\r\n");
  CHECK(status_of(streamed) == 200);
  CHECK(streamed.find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(streamed.find("event: response.created") != std::string::npos);
  CHECK(streamed.find("\"delta\":\"Hel\"") != std::string::npos);
  const auto done = streamed.find("event: response.completed");
  REQUIRE(done != std::string::npos);
  CHECK(streamed.find("\"text\":\"Hello there\"", done) != std::string::npos);
  CHECK(streamed.find("0\r\n\r\n") != std::string::npos);  // the stream ended properly

  auto queued = f.json_call("POST", "/v1/responses", R"({"model":"up-model","input":"hi","background":true})");
  CHECK(queued.at("status") == "queued");
  const std::string id(queued.at("id").as_string());
  REQUIRE(wait_for([&] { return f.json_call("GET", "/v1/responses/" + id).at("status") == "completed"; }));
  auto polled = f.json_call("GET", "/v1/responses/" + id);
  CHECK(polled.at("output").at(0).at("content").at(0).at("text") == "Hello there");
  CHECK(polled.at("background") == true);
  f.json_call("GET", "/v1/responses/resp_missing", {}, 404);
}

TEST_CASE("Files and Batches over HTTP, end to end") {
  Fixture f;
  std::string lines;
  for (int i = 1; i <= 5; ++i) {
    lines += R"({"custom_id":"q)" + std::to_string(i) +
             R"(","method":"POST","url":"/v1/responses","body":{"model":"up-model","input":"hi"}})" "\n";
  }
  std::string ct;
  const std::string body = multipart_file(lines, "batch", ct);
  RawClient c(f.server->port());
  c.send("POST /v1/files HTTP/1.1\r\nHost: x\r\nContent-Type: " + ct + "\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body);
  const std::string resp = c.read_response();
  REQUIRE_MESSAGE(status_of(resp) == 200, resp);
  auto file = bj::parse(body_of(resp));
  CHECK(file.at("purpose") == "batch");
  CHECK(file.at("bytes") == static_cast<std::int64_t>(lines.size()));
  const std::string file_id(file.at("id").as_string());
  CHECK(body_of(f.call("GET", "/v1/files/" + file_id + "/content")) == lines);
  CHECK(f.json_call("GET", "/v1/files").at("data").as_array().size() >= 1);

  auto batch = f.json_call("POST", "/v1/batches",
                           R"({"input_file_id":")" + file_id + R"(","endpoint":"/v1/responses","completion_window":"24h"})");
  const std::string id(batch.at("id").as_string());
  REQUIRE(wait_for([&] { return f.json_call("GET", "/v1/batches/" + id).at("status") == "completed"; }));
  batch = f.json_call("GET", "/v1/batches/" + id);
  CHECK(batch.at("request_counts").at("completed") == 5);
  const std::string out = body_of(f.call("GET", "/v1/files/" + std::string(batch.at("output_file_id").as_string()) + "/content"));
  int n = 0;
  for (std::size_t pos = 0; pos < out.size(); pos = out.find('\n', pos) + 1) {
    auto line = bj::parse(out.substr(pos, out.find('\n', pos) - pos));
    CHECK(std::string(line.at("custom_id").as_string()) == fmt::format("q{}", ++n));
    CHECK(line.at("response").at("body").at("output").at(0).at("content").at(0).at("text") == "Hello there");
  }
  CHECK(n == 5);
  auto list = f.json_call("GET", "/v1/batches?limit=1");
  CHECK(list.at("data").as_array().size() == 1);
  f.json_call("GET", "/v1/batches?limit=0", {}, 400);
  auto deleted = f.json_call("DELETE", "/v1/files/" + file_id);
  CHECK(deleted.at("deleted") == true);
  f.json_call("GET", "/v1/files/" + file_id, {}, 404);
  auto bad_upload = f.call("POST", "/v1/files", "x");  // not multipart
  CHECK(status_of(bad_upload) == 400);
}

TEST_CASE("Hostile HTTP: oversized, malformed, slow, too many headers") {
  cnai::ServerOptions o = Fixture::base_options();
  o.limits.max_body_bytes = 1000;
  o.limits.max_header_bytes = 2000;
  o.limits.max_header_count = 20;
  o.limits.header_timeout = 300ms;
  Fixture f(o, false);
  const uint16_t port = f.server->port();
  {
    RawClient c(port);  // declared too large: refused before the body is read
    c.send("POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
    CHECK(status_of(c.read_response()) == 413);
  }
  {
    RawClient c(port);  // chunked, growing past the limit
    std::string req = "POST /v1/responses HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 5; ++i) req += "1f4\r\n" + std::string(500, 'a') + "\r\n";
    c.send(req);
    CHECK(status_of(c.read_response()) == 413);
  }
  {
    RawClient c(port);
    c.send("GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(3000, 'b') + "\r\n\r\n");
    CHECK(status_of(c.read_response()) == 431);
  }
  {
    RawClient c(port);
    std::string req = "GET /v1/models HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 30; ++i) req += "X-H" + std::to_string(i) + ": v\r\n";
    c.send(req + "\r\n");
    CHECK(status_of(c.read_response()) == 431);
  }
  {
    RawClient c(port);
    c.send("NOT HTTP AT ALL\r\n\r\n");
    CHECK(status_of(c.read_response()) == 400);
  }
  {
    RawClient c(port);  // slowloris: the head never completes
    c.send("GET /v1/models HTTP/1.1\r\nHost: x\r\n");
    const auto t0 = std::chrono::steady_clock::now();
    c.read(3s);
    CHECK(c.closed_by_peer());
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  }
  {
    RawClient c(port);  // keep-alive: two requests on one connection
    c.send(http_request("GET", "/v1/models") + http_request("GET", "/healthz"));
    std::string both = c.read(2s, "{\"status\":\"ok\"}");
    CHECK(both.find("up-model") != std::string::npos);
    CHECK(both.find("{\"status\":\"ok\"}") != std::string::npos);
  }
  CHECK(wait_for([&] { return f.server->stats().connections == 0; }, 3s));
}

TEST_CASE("API keys: hashed, required, each with its own rate limit") {
  cnai::ServerOptions o = Fixture::base_options();
  o.api_keys = {{"team-a", cnai::sha256_hex("sk-a"), 0}, {"team-b", cnai::sha256_hex("sk-b"), 2}};
  Fixture f(o, false);
  CHECK(status_of(f.call("GET", "/v1/models")) == 401);
  auto wrong = bj::parse(body_of(f.call("GET", "/v1/models", {}, "Authorization: Bearer sk-x\r\n")));
  CHECK(wrong.at("error").at("type") == "authentication_error");
  CHECK(status_of(f.call("GET", "/v1/models", {}, "Authorization: Bearer sk-a\r\n")) == 200);
  CHECK(status_of(f.call("GET", "/healthz")) == 200);  // probes need no key
  CHECK(status_of(f.call("GET", "/v1/models", {}, "Authorization: Bearer sk-b\r\n")) == 200);
  CHECK(status_of(f.call("GET", "/v1/models", {}, "Authorization: Bearer sk-b\r\n")) == 200);
  const std::string limited = f.call("GET", "/v1/models", {}, "Authorization: Bearer sk-b\r\n");
  CHECK(status_of(limited) == 429);
  const auto ra = limited.find("retry-after: ");
  REQUIRE(ra != std::string::npos);
  const int retry_after = std::stoi(limited.substr(ra + 13));
  CHECK(retry_after >= 25);  // two a minute: the next one in 30 s, less what went by
  CHECK(retry_after <= 30);
  CHECK(status_of(f.call("GET", "/v1/models", {}, "Authorization: Bearer sk-a\r\n")) == 200);  // a's budget is its own
}

TEST_CASE("Overload: a full compute queue answers 429 with Retry-After before any work") {
  cnai::ServerOptions o = Fixture::base_options();
  o.compute_threads = 1;
  o.limits.max_queued = 0;
  Fixture f(o, false);
  f.upstream.delay_ms = 800;
  RawClient slow(f.server->port());
  slow.send(http_request("POST", "/v1/responses", R"({"model":"up-model","input":"hi"})"));
  REQUIRE(wait_for([&] { return f.upstream.calls.load() == 1; }));
  const std::string refused = f.call("POST", "/v1/responses", R"({"model":"up-model","input":"hi"})");
  CHECK(status_of(refused) == 429);
  CHECK(refused.find("retry-after") != std::string::npos);
  CHECK(f.upstream.calls.load() == 1);  // the refused request never reached the backend
  CHECK(status_of(slow.read_response()) == 200);
}

TEST_CASE("Connection limit: past it, 503 and close") {
  cnai::ServerOptions o = Fixture::base_options();
  o.limits.max_connections = 2;
  Fixture f(o, false);
  RawClient a(f.server->port()), b(f.server->port());
  REQUIRE(wait_for([&] { return f.server->stats().connections == 2; }));
  RawClient c(f.server->port());
  CHECK(status_of(c.read_response()) == 503);
}

TEST_CASE("A client that disconnects mid-request stops its backend call") {
  Fixture f(Fixture::base_options(), false);
  f.upstream.delay_ms = 5000;
  {
    RawClient c(f.server->port());
    c.send(http_request("POST", "/v1/responses", R"({"model":"up-model","input":"hi"})"));
    REQUIRE(wait_for([&] { return f.server->stats().in_flight == 1 && f.upstream.calls == 1; }));
  }
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(wait_for([&] { return f.server->stats().in_flight == 0; }, 3s));
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);  // well before the upstream's 5 s
  {
    RawClient c(f.server->port());  // streaming, reset by the client
    c.send(http_request("POST", "/v1/responses", R"({"model":"up-model","input":"hi","stream":true})"));
    c.read(1s, "response.created");
    c.reset();
  }
  CHECK(wait_for([&] { return f.server->stats().in_flight == 0; }, 3s));
}

TEST_CASE("Drain: readiness drops, in-flight work finishes, new work is refused") {
  Fixture f(Fixture::base_options(), false);
  f.upstream.delay_ms = 600;
  RawClient c(f.server->port());
  c.send(http_request("POST", "/v1/responses", R"({"model":"up-model","input":"hi"})"));
  REQUIRE(wait_for([&] { return f.upstream.calls == 1; }));
  RawClient idle(f.server->port());
  REQUIRE(wait_for([&] { return f.server->stats().connections == 2; }));  // both accepted before draining
  std::thread drainer([&] { f.server->drain(); });
  std::this_thread::sleep_for(100ms);
  idle.send(http_request("GET", "/readyz"));
  CHECK(status_of(idle.read_response()) == 503);
  CHECK(status_of(c.read_response()) == 200);
  drainer.join();
  CHECK_THROWS((void)RawClient(f.server->port()));
}

TEST_CASE("Chat Completions, legacy Completions and Embeddings through the codecs") {
  Fixture f(Fixture::base_options(), false);
  f.upstream.add_embeddings();
  auto chat = f.json_call("POST", "/v1/chat/completions",
                          R"({"model":"up-model","messages":[{"role":"user","content":"hi"}]})");
  CHECK(chat.at("object") == "chat.completion");
  CHECK(chat.at("choices").at(0).at("message").at("content") == "Hello there");

  RawClient sc(f.server->port());
  sc.send(http_request("POST", "/v1/chat/completions",
                       R"({"model":"up-model","messages":[{"role":"user","content":"hi"}],"stream":true,)"
                       R"("stream_options":{"include_usage":true}})"));
  const std::string streamed = sc.read(10s, "0\r\n\r\n");
  CHECK(status_of(streamed) == 200);
  CHECK(streamed.find("text/event-stream") != std::string::npos);
  CHECK(streamed.find("\"content\":\"Hel\"") != std::string::npos);
  CHECK(streamed.find("data: [DONE]") != std::string::npos);

  auto cmpl = f.json_call("POST", "/v1/completions", R"({"model":"up-model","prompt":"hi"})");
  CHECK(cmpl.at("object") == "text_completion");
  CHECK(cmpl.at("choices").at(0).at("text") == "Hello there");
  f.json_call("POST", "/v1/completions", R"({"model":"up-model","prompt":"hi","echo":true})", 400);

  auto emb = f.json_call("POST", "/v1/embeddings", R"({"model":"emb","input":["a"]})");
  CHECK(emb.at("data").at(0).at("embedding").at(1).as_double() == doctest::Approx(-0.25));

  // Refused before any chunk: a plain status, not a 200 stream.
  auto bad = f.json_call("POST", "/v1/chat/completions",
                         R"({"model":"up-model","messages":[{"role":"user","content":"hi"}],"stream":true,"temperature":7})", 400);
  CHECK(bad.at("error").at("param") == "temperature");
  auto role = f.json_call("POST", "/v1/chat/completions", R"({"model":"m","messages":[{"role":"wiz","content":"x"}]})", 400);
  CHECK(role.at("error").at("param") == "messages[0].role");
}
