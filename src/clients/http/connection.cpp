// Connection setup (resolve, TCP, CONNECT proxy, TLS with SNI and host-name
// verification) and the mapping of I/O errors to cnai::Error codes.
#include "clients/http/connection.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>

#include "clients/http/host_resolve.hpp"
#include "cnai/core/error.hpp"

namespace cnai::clients::detail {
namespace http = beast::http;

Phase Phase::make(std::string what, std::string timeout_name, std::chrono::milliseconds timeout,
                  Clock::time_point total_deadline, std::chrono::milliseconds total) {
  Phase phase{Clock::now() + timeout, std::move(timeout_name), timeout, std::move(what)};
  if (total_deadline < phase.deadline) {
    phase.deadline = total_deadline;
    phase.timeout_name = "total";
    phase.timeout = total;
  }
  return phase;
}

std::string connection_key(const Url& url) {
  return fmt::format("{}://{}:{}", url.scheme, url.host, url.port);
}

Connection::Connection(const Url& origin, ssl::context* tls) : origin_(origin), key_(connection_key(origin)) {
  if (tls) {
    tls_.emplace(ioc_, *tls);
  } else {
    plain_.emplace(ioc_);
  }
}

tcp::socket& Connection::socket() {
  return tls_ ? beast::get_lowest_layer(*tls_).socket() : plain_->socket();
}

void Connection::open(const std::optional<Url>& proxy, const Phase& phase, const CancelToken* cancel,
                      const HostResolver& resolver) {
  if (proxy && tls_) {
    Phase via = phase;  // errors name the proxy as well as the origin
    via.what = fmt::format("{} the proxy {}:{} for", phase.what, proxy->host, proxy->port);
    connect_tcp(proxy->host, proxy->port, via, cancel, resolver);
    proxy_connect(via, cancel);
  } else {
    connect_tcp(origin_.host, origin_.port, phase, cancel, resolver);
  }
  if (tls_) tls_handshake(phase, cancel);
}

std::vector<tcp::endpoint> Connection::resolve(const std::string& host, uint16_t port, const Phase& phase,
                                              const CancelToken* cancel, const HostResolver& resolver) {
  beast::error_code not_ip;
  const auto address = asio::ip::make_address(host, not_ip);
  if (!not_ip) return {tcp::endpoint(address, port)};  // IP literal: no resolver round trip
  std::vector<tcp::endpoint> endpoints;
  for (const std::string& text : resolve_host(host, port, phase, cancel, resolver, key_)) {
    beast::error_code bad;
    const auto ip = asio::ip::make_address(text, bad);
    if (!bad) endpoints.emplace_back(ip, port);
  }
  if (endpoints.empty()) throw Error(ErrorCode::unavailable, fmt::format("host '{}' resolved to no usable address", host));
  return endpoints;
}

void Connection::connect_tcp(const std::string& host, uint16_t port, const Phase& phase,
                             const CancelToken* cancel, const HostResolver& resolver) {
  const std::vector<tcp::endpoint> endpoints = resolve(host, port, phase, cancel, resolver);
  run(phase, cancel, [&](auto&, auto handler) {
    auto& lowest = tls_ ? beast::get_lowest_layer(*tls_) : *plain_;
    lowest.async_connect(endpoints, handler);
  });
  beast::error_code ignored;
  socket().set_option(tcp::no_delay(true), ignored);
}

void Connection::proxy_connect(const Phase& phase, const CancelToken* cancel) {
  auto& lowest = beast::get_lowest_layer(*tls_);
  const std::string authority = fmt::format("{}:{}", origin_.host, origin_.port);
  http::request<http::empty_body> request{http::verb::connect, authority, 11};
  request.set(http::field::host, authority);
  run(phase, cancel, [&](auto&, auto handler) { http::async_write(lowest, request, handler); });
  http::response_parser<http::empty_body> parser;
  parser.skip(true);  // a CONNECT response has no body: the tunnel follows
  run(phase, cancel, [&](auto&, auto handler) { http::async_read(lowest, buffer_, parser, handler); });
  const unsigned status = parser.get().result_int();
  if (status < 200 || status > 299) {
    throw Error(ErrorCode::unavailable,
                fmt::format("HTTPS proxy refused CONNECT to {}: status {}", authority, status));
  }
}

void Connection::tls_handshake(const Phase& phase, const CancelToken* cancel) {
  beast::error_code not_ip;
  asio::ip::make_address(origin_.host, not_ip);
  // SNI is for names only (RFC 6066); IP literals are verified against IP SANs.
  if (not_ip && !SSL_set_tlsext_host_name(tls_->native_handle(), origin_.host.c_str())) {
    throw Error(ErrorCode::internal, "cannot set TLS SNI host name");
  }
  if (SSL_CTX_get_verify_mode(SSL_get_SSL_CTX(tls_->native_handle())) & SSL_VERIFY_PEER) {
    tls_->set_verify_callback(ssl::host_name_verification(origin_.host));
  }
  run(phase, cancel, [&](auto& stream, auto handler) {
    if constexpr (requires { stream.async_handshake(ssl::stream_base::client, handler); }) {
      stream.async_handshake(ssl::stream_base::client, handler);
    }
  });
}

void Connection::fail(beast::error_code ec, const Phase& phase, const CancelToken* cancel) {
  if (cancel && cancel->cancelled()) {
    throw Error(ErrorCode::cancelled, fmt::format("HTTP request to {} cancelled while {}", key_, phase.what));
  }
  if (ec == beast::error::timeout) {
    throw Error(ErrorCode::timeout, fmt::format("{} timeout ({} ms) expired while {} {}", phase.timeout_name,
                                                phase.timeout.count(), phase.what, key_));
  }
  if (ec.category() == asio::error::get_ssl_category() || ec == ssl::error::stream_truncated) {
    std::string reason = ec.message();
    if (tls_) {
      const long verify = SSL_get_verify_result(tls_->native_handle());
      if (verify != X509_V_OK) reason = X509_verify_cert_error_string(verify);
    }
    throw Error(ErrorCode::unavailable, fmt::format("TLS error with {} while {}: {}", key_, phase.what, reason));
  }
  if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof) {
    throw Error(ErrorCode::unavailable,
                fmt::format("{} closed the connection while {}", key_, phase.what));
  }
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
    throw Error(ErrorCode::upstream, fmt::format("malformed HTTP response from {}: {}", key_, ec.message()));
  }
  throw Error(ErrorCode::unavailable, fmt::format("{} {} failed: {}", phase.what, key_, ec.message()));
}

beast::error_code Connection::read_some(const Phase& phase, char* data, std::size_t size, std::size_t& n) {
  n = 0;
  return run_noexcept(phase, [&](auto& stream, auto handler) {
    stream.async_read_some(asio::buffer(data, size), [&n, handler](beast::error_code ec, std::size_t bytes) mutable {
      n = bytes;
      handler(ec);
    });
  });
}

void Connection::run_io() {
  ioc_.restart();
  try {
    ioc_.run();
  } catch (const std::exception& e) {  // e.g. a proxy's header Beast cannot store: typed, never bare
    throw Error(ErrorCode::upstream, fmt::format("malformed data from {}: {}", key_, e.what()));
  }
}

void Connection::close_async() {
  asio::post(ioc_, [this] {
    beast::error_code ignored;
    socket().close(ignored);
  });
}

bool Connection::settle() {
  ioc_.restart();
  ioc_.poll();
  return socket().is_open();
}

}  // namespace cnai::clients::detail
