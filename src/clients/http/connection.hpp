// One HTTP/1.1 connection (plain or TLS, optionally through a CONNECT proxy)
// with its own io_context: every phase is an async op run to completion on
// the calling thread, bounded by a deadline, and closable from other threads.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "clients/http/http_client.hpp"

namespace cnai::clients::detail {

namespace beast = boost::beast;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

/// When a phase must end, and the name of the timeout that sets that moment.
struct Phase {
  Clock::time_point deadline;
  std::string timeout_name;
  std::chrono::milliseconds timeout{0};
  std::string what;  // "connecting to host:port", "reading the response body"...

  static Phase make(std::string what, std::string timeout_name, std::chrono::milliseconds timeout,
                    Clock::time_point total_deadline, std::chrono::milliseconds total);
};

/// Thrown inside the client when a reused connection failed before the
/// server sent a byte: the request is retried once on a fresh connection.
struct StaleConnection {
  std::string message;
};

class Connection {
 public:
  Connection(const Url& origin, ssl::context* tls);  // tls == nullptr for http
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Resolves (with `resolver`, or the system's; bounded by the phase and
  /// cancellable), connects (via `proxy` when set), and does the TLS handshake.
  void open(const std::optional<Url>& proxy, const Phase& phase, const CancelToken* cancel,
            const HostResolver& resolver);

  /// Runs one async op to completion; `initiate(stream, handler)` starts it on
  /// the plain or TLS stream. Errors are thrown mapped to cnai::Error.
  template <class Initiate>
  void run(const Phase& phase, const CancelToken* cancel, Initiate&& initiate);

  /// Like run(), but returns the error instead of throwing (for need_buffer, eof...).
  template <class Initiate>
  beast::error_code run_noexcept(const Phase& phase, Initiate&& initiate);

  /// Reads what has arrived (at most `size` bytes) into `data`; `n` bytes read.
  beast::error_code read_some(const Phase& phase, char* data, std::size_t size, std::size_t& n);

  [[noreturn]] void fail(beast::error_code ec, const Phase& phase, const CancelToken* cancel);

  /// Closes the socket; safe from any thread (posted to the connection's context).
  void close_async();
  /// Runs handlers queued by close_async(); true if the socket is still usable.
  bool settle();

  beast::flat_buffer& buffer() { return buffer_; }
  const std::string& key() const { return key_; }
  bool reused = false;

 private:
  tcp::socket& socket();
  void run_io();  // runs queued I/O to completion; exceptions become Error(upstream)
  std::vector<tcp::endpoint> resolve(const std::string& host, uint16_t port, const Phase& phase,
                                     const CancelToken* cancel, const HostResolver& resolver);
  void connect_tcp(const std::string& host, uint16_t port, const Phase& phase, const CancelToken* cancel,
                   const HostResolver& resolver);
  void proxy_connect(const Phase& phase, const CancelToken* cancel);
  void tls_handshake(const Phase& phase, const CancelToken* cancel);

  Url origin_;
  std::string key_;
  asio::io_context ioc_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
};

std::string connection_key(const Url& url);

template <class Initiate>
beast::error_code Connection::run_noexcept(const Phase& phase, Initiate&& initiate) {
  beast::error_code result;
  auto& lowest = tls_ ? beast::get_lowest_layer(*tls_) : *plain_;
  lowest.expires_at(phase.deadline);
  auto handler = [&result](beast::error_code ec, auto&&...) { result = ec; };
  if (tls_) {
    initiate(*tls_, handler);
  } else {
    initiate(*plain_, handler);
  }
  run_io();
  return result;
}

template <class Initiate>
void Connection::run(const Phase& phase, const CancelToken* cancel, Initiate&& initiate) {
  if (cancel && cancel->cancelled()) fail(asio::error::operation_aborted, phase, cancel);
  const beast::error_code ec = run_noexcept(phase, std::forward<Initiate>(initiate));
  if (ec) fail(ec, phase, cancel);
  if (cancel && cancel->cancelled()) fail(asio::error::operation_aborted, phase, cancel);
}

}  // namespace cnai::clients::detail
