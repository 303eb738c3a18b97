// What OpenAiClient adds per request on loopback: chat and chat_stream versus
// the same HTTP exchange done with a minimal blocking socket client. Counters:
// requests/s and wall-clock latency p50/p99 (us) from per-iteration samples.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_stats.hpp"
#include "bench_upstream.hpp"
#include "cnai/clients/openai_client.hpp"

using cnai::bench::kUpstreamReplyBody;
using cnai::bench::percentile;
using cnai::bench::upstream;
using Clock = std::chrono::steady_clock;

namespace {

cnai::OpenAiOptions client_options() {
  cnai::OpenAiOptions options;
  options.base_url = upstream().base_url() + "/v1";
  options.api_key = "test";
  options.common.retries.max_retries = 0;
  return options;
}

cnai::ChatRequest small_request(bool stream) {
  cnai::ChatRequest request;
  request.model = "gpt-4o-mini";
  cnai::Message message;
  message.role = cnai::Role::user;
  message.content = "Hello there, how are you?";
  request.messages = {message};
  request.max_tokens = 32;
  request.stream = stream;
  return request;
}

// p50 of the raw baseline, so the client benchmarks can report their overhead.
double g_baseline_p50_us = 0.0;

// Times `one_request` per iteration; returns p50 in microseconds.
template <typename F>
double run_timed(benchmark::State& state, F&& one_request) {
  std::vector<double> samples_us;
  samples_us.reserve(4096);
  for (auto _ : state) {
    const auto start = Clock::now();
    one_request();
    const std::chrono::duration<double, std::micro> took = Clock::now() - start;
    state.SetIterationTime(took.count() * 1e-6);
    samples_us.push_back(took.count());
  }
  const double p50 = percentile(samples_us, 0.50);
  state.counters["requests_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                        benchmark::Counter::kIsRate);
  state.counters["p50_us"] = p50;
  state.counters["p99_us"] = percentile(samples_us, 0.99);
  return p50;
}

void BM_chat_nonstream(benchmark::State& state) {
  cnai::OpenAiClient client(client_options());
  const cnai::ChatRequest request = small_request(false);
  const double p50 = run_timed(state, [&] {
    cnai::ChatResponse response = client.chat(request);
    if (response.choices.empty()) state.SkipWithError("no choices in reply");
    benchmark::DoNotOptimize(response);
  });
  if (g_baseline_p50_us > 0) state.counters["added_p50_us"] = p50 - g_baseline_p50_us;
}

void BM_chat_stream(benchmark::State& state) {
  cnai::OpenAiClient client(client_options());
  const cnai::ChatRequest request = small_request(true);
  const double p50 = run_timed(state, [&] {
    std::size_t chunks = 0;
    cnai::ChatResponse response = client.chat_stream(request, [&](const cnai::ChatChunk&) {
      ++chunks;
      return true;
    });
    if (chunks < 20 || response.usage.total_tokens != 32) state.SkipWithError("incomplete stream");
    benchmark::DoNotOptimize(response);
  });
  if (g_baseline_p50_us > 0) state.counters["added_p50_us"] = p50 - g_baseline_p50_us;
}

// The "direct request": one blocking keep-alive socket, request bytes out,
// read until the Content-Length body is complete.
class RawHttpConnection {
 public:
  explicit RawHttpConnection(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ok_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawHttpConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawHttpConnection(const RawHttpConnection&) = delete;
  RawHttpConnection& operator=(const RawHttpConnection&) = delete;
  bool ok() const { return ok_; }

  /// Returns the response body, or "" on any failure.
  std::string exchange(const std::string& request_bytes) {
    for (std::size_t sent = 0; sent < request_bytes.size();) {
      const ssize_t n = ::send(fd_, request_bytes.data() + sent, request_bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return {};
      sent += static_cast<std::size_t>(n);
    }
    std::string in;
    std::size_t head_end = std::string::npos;
    std::size_t body_size = 0;
    char buffer[16384];
    while (head_end == std::string::npos || in.size() < head_end + body_size) {
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return {};
      in.append(buffer, static_cast<std::size_t>(n));
      if (head_end == std::string::npos && (head_end = in.find("\r\n\r\n")) != std::string::npos) {
        head_end += 4;
        const std::size_t at = in.find("Content-Length: ");
        if (at == std::string::npos || at > head_end) return {};
        body_size = std::strtoul(in.c_str() + at + 16, nullptr, 10);
      }
    }
    return in.substr(head_end, body_size);
  }

 private:
  int fd_;
  bool ok_ = false;
};

void BM_baseline_raw(benchmark::State& state) {
  RawHttpConnection connection(upstream().port());
  if (!connection.ok()) {
    state.SkipWithError("connect to the loopback server failed");
    return;
  }
  const std::string body = R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello there, how are you?"}],)"
                           R"("max_tokens":32})";
  const std::string request_bytes = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:" +
                                    std::to_string(upstream().port()) +
                                    "\r\nAuthorization: Bearer test\r\nContent-Type: application/json\r\n"
                                    "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  g_baseline_p50_us = run_timed(state, [&] {
    if (connection.exchange(request_bytes).size() != kUpstreamReplyBody.size()) state.SkipWithError("bad raw reply");
  });
}

}  // namespace

// The baseline runs first so the client benchmarks can subtract its p50.
BENCHMARK(BM_baseline_raw)->UseManualTime()->Iterations(2000);
BENCHMARK(BM_chat_nonstream)->UseManualTime()->Iterations(2000);
BENCHMARK(BM_chat_stream)->UseManualTime()->Iterations(2000);
BENCHMARK_MAIN();
