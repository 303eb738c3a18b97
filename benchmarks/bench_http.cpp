// HttpClient on loopback: small keep-alive POSTs (requests/s = items/s,
// latency = time per iteration), fresh connections, TLS, and SSE parsing.
#include <benchmark/benchmark.h>

#include <string>

#include "clients/http/http_client.hpp"
#include "clients/sse_parser.hpp"
#include "support/test_http_server.hpp"

using namespace cnai::clients;
using cnai::test::TestHttpServer;
using cnai::test::TestRequest;
using cnai::test::TestResponse;

namespace {

const std::string kBody = R"({"model":"m","messages":[{"role":"user","content":"Hello there, how are you?"}]})";

void route_echo(TestHttpServer& server) {
  server.route("POST", "/v1/chat/completions", [](const TestRequest& r) { return TestResponse::json(r.body); });
}

TestHttpServer& plain_server() {
  static TestHttpServer server;
  static const bool routed = (route_echo(server), true);
  (void)routed;
  return server;
}

TestHttpServer& tls_server() {
  static TestHttpServer server(TestHttpServer::Options{.tls = true});
  static const bool routed = (route_echo(server), true);
  (void)routed;
  return server;
}

HttpClientOptions bench_options() {
  HttpClientOptions options;
  options.https_proxy = "";
  options.ca_file = TestHttpServer::ca_file();
  return options;
}

void run_posts(benchmark::State& state, TestHttpServer& server, bool keep_alive) {
  HttpClient client(bench_options());
  HttpRequest request;
  request.url = Url::parse(server.base_url() + "/v1/chat/completions");
  request.headers = {{"Content-Type", "application/json"}};
  if (!keep_alive) request.headers.emplace_back("Connection", "close");
  request.body = kBody;
  const std::size_t connections_before = server.connections_accepted();
  for (auto _ : state) {
    HttpResponse response = client.send(request);
    if (response.body.size() != kBody.size()) state.SkipWithError("wrong echo");
    benchmark::DoNotOptimize(response);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["connections"] = static_cast<double>(server.connections_accepted() - connections_before);
}

void BM_SmallPostKeepAlive(benchmark::State& state) { run_posts(state, plain_server(), true); }
void BM_SmallPostNewConnection(benchmark::State& state) { run_posts(state, plain_server(), false); }
void BM_SmallPostTlsKeepAlive(benchmark::State& state) { run_posts(state, tls_server(), true); }

void BM_SseParse(benchmark::State& state) {
  std::string stream;
  for (int i = 0; i < 1000; ++i) {
    stream += "data: {\"choices\":[{\"delta\":{\"content\":\"token " + std::to_string(i) + "\"}}]}\n\n";
  }
  for (auto _ : state) {
    SseParser parser;
    std::size_t events = 0;
    for (std::size_t i = 0; i < stream.size(); i += 1400) {  // packet-sized pieces
      parser.feed(std::string_view(stream).substr(i, 1400), [&](const SseEvent&) { ++events; });
    }
    benchmark::DoNotOptimize(events);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
}

}  // namespace

BENCHMARK(BM_SmallPostKeepAlive)->UseRealTime();
BENCHMARK(BM_SmallPostNewConnection)->UseRealTime();
BENCHMARK(BM_SmallPostTlsKeepAlive)->UseRealTime();
BENCHMARK(BM_SseParse);
BENCHMARK_MAIN();
