// A real HTTP/1.1 server on 127.0.0.1 (ephemeral port, optional TLS with a
// test CA made at run time) for client tests and benchmarks: routes answer
// with scripted responses, delays, streamed chunks and injected faults.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cnai::test {

using TestHeaders = std::vector<std::pair<std::string, std::string>>;

struct TestRequest {
  std::string method;
  std::string target;  // path and query as sent
  TestHeaders headers;
  std::string body;
  std::optional<std::string> header(std::string_view name) const;  // case-insensitive
};

enum class Fault {
  none,
  close_before_response,  // read the request, then close without answering
  reset_mid_body,         // send half the body, then reset the connection (RST)
  truncated_body,         // Content-Length larger than what is sent, then close
  endless_body,           // chunked body that never ends (until the client leaves)
  // What a hostile server does (each must leave the client bounded and typed):
  endless_chunk_extension,  // a chunk header "1;aaaa..." whose extension never ends
  endless_trailer,          // the last chunk, then trailer fields that never end
  huge_header,              // one header field of 100 KiB
  // After the chunks (e.g. an SSE stream's end marker) instead of the last chunk:
  reset_after_chunks,     // reset the connection (RST)
  stall_after_chunks,     // say nothing more, keep the connection open
};

struct TestResponse {
  int status = 200;
  TestHeaders headers;  // Content-Type defaults to application/json
  std::string body;
  /// Non-empty: sent with chunked transfer encoding, one write per entry,
  /// `chunk_delay` apart (`body` is then ignored).
  std::vector<std::string> chunks;
  std::chrono::milliseconds delay_before_head{0};
  std::chrono::milliseconds chunk_delay{0};
  bool gzip = false;  // compress the payload, add Content-Encoding: gzip
  bool close_connection = false;
  Fault fault = Fault::none;
  /// Written before the response, one interim response each (e.g.
  /// "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n").
  std::vector<std::string> interim;

  static TestResponse json(std::string body, int status = 200);
  /// text/event-stream, each entry one chunk (write "data: ...\n\n" yourself).
  static TestResponse sse(std::vector<std::string> chunks, std::chrono::milliseconds delay = {});
};

using TestHandler = std::function<TestResponse(const TestRequest&)>;

class TestHttpServer {
 public:
  struct Options {
    bool tls = false;
  };
  TestHttpServer();
  explicit TestHttpServer(Options options);
  ~TestHttpServer();  // stops accepting, closes every connection, joins (bounded)
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  /// Exact path match (the query is ignored); method "*" matches any.
  /// Unrouted requests get 404.
  void route(std::string method, std::string path, TestHandler handler);

  uint16_t port() const { return port_; }
  std::string base_url() const;  // "http://127.0.0.1:PORT" or "https://..."
  std::size_t connections_accepted() const { return connections_; }
  std::size_t requests_handled() const { return requests_; }
  /// Bytes written by the endless faults before the client went away.
  std::size_t fault_bytes_sent() const { return fault_bytes_; }
  std::optional<TestRequest> last_request() const;
  /// Drops every open connection, as a server's idle timeout would.
  void close_connections();

  /// PEM file of the CA that signed the TLS server certificate (IP SAN
  /// 127.0.0.1, DNS localhost); created once per process with `openssl`.
  static const std::string& ca_file();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
  std::atomic<std::size_t> connections_{0};
  std::atomic<std::size_t> requests_{0};
  std::atomic<std::size_t> fault_bytes_{0};
};

}  // namespace cnai::test
