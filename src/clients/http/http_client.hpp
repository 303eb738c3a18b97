// Blocking HTTP/1.1 client (private to cnai; std-only interface, Beast inside).
// Keep-alive pool per (scheme, host, port) with fair per-origin connection
// slots, TLS with peer verification, gzip, CONNECT-proxy tunnelling, bounded
// memory whatever the server sends, per-phase timeouts (name resolution
// included) and cross-thread cancellation.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cnai/clients/client_options.hpp"

namespace cnai::clients {

/// The User-Agent every request carries unless it sets its own.
extern const char* const kUserAgent;

/// Bound of a response head (status line and headers), of each chunk header
/// and of the trailer section.
inline constexpr std::size_t kMaxResponseHeadBytes = 64 * 1024;

/// An absolute http:// or https:// URL split into its parts.
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;
  uint16_t port = 0;   // defaulted to 80 / 443 when absent
  std::string target;  // path + query, at least "/"

  /// Throws Error(invalid_argument) on anything that is not an http(s) URL.
  static Url parse(std::string_view url);
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "POST";
  Url url;
  HttpHeaders headers;  // Host, User-Agent, Content-Length are added; send() also
                        // asks for gzip unless Accept-Encoding is given
  std::string body;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;  // empty for stream(): the bytes went to on_data

  /// First header with this name, compared case-insensitively.
  std::optional<std::string> header(std::string_view name) const;
};

/// connect (resolve + TCP + TLS + proxy), first_byte, total, idle_read: the
/// public clients' timeouts, with the same defaults.
using HttpTimeouts = ClientTimeouts;

/// What a stream's on_data wants next.
enum class BodyControl {
  more,      // keep reading
  finished,  // the caller has all it needs (an end marker): the client drains
             // the rest of the body briefly to reuse the connection, and
             // nothing that happens after (reset, stall, broken length) is an error
  stop,      // abandon the response (the connection is dropped)
};

/// Resolves a host name to IP address strings; throws std::exception on failure.
/// It runs on a helper thread: a slow one holds no call past its connect timeout.
using HostResolver = std::function<std::vector<std::string>(const std::string& host, std::uint16_t port)>;

struct HttpClientOptions {
  HttpTimeouts timeouts;
  std::size_t max_body_bytes = std::size_t{64} << 20;  // after gzip decoding
  /// Connections (in use and idle) per origin; more callers wait their turn,
  /// first come first served, bounded by the connect timeout.
  std::size_t max_connections_per_host = 16;
  std::string ca_file;     // empty: the system CA store
  bool verify_peer = true;
  /// "http://host:port" of a CONNECT proxy for https; empty: none.
  std::string https_proxy;
  /// Hosts that bypass it (NO_PROXY syntax, see ClientCommonOptions).
  std::string no_proxy;
  /// Empty: the system resolver (getaddrinfo). Hosts with their own service
  /// discovery (and tests of a slow resolver) put theirs here.
  HostResolver resolver;
};

/// Cancels calls from any thread; a blocked call closes its connection and
/// throws Error(cancelled) promptly. One token may serve several calls.
class CancelToken {
 public:
  CancelToken() = default;
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  void cancel();
  bool cancelled() const;

  /// Internal: runs `on_cancel` at cancel() (or now, if already cancelled)
  /// until the returned id is removed.
  std::uint64_t add_callback(std::function<void()> on_cancel) const;
  void remove_callback(std::uint64_t id) const;

 private:
  mutable std::mutex mutex_;
  bool cancelled_ = false;
  mutable std::uint64_t next_id_ = 1;
  mutable std::vector<std::pair<std::uint64_t, std::function<void()>>> callbacks_;
};

/// Thread-safe: many threads may call send()/stream() at once.
/// Every failure is a cnai::Error: refused/reset/unresolvable -> unavailable;
/// timeouts (resolution included) -> timeout, naming which; a malformed or
/// oversized response (head over kMaxResponseHeadBytes, body over the limit)
/// -> upstream; TLS verification -> unavailable; cancelled -> cancelled.
/// HTTP error statuses are returned, not thrown.
class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Complete request; the body is read fully (content-length or chunked,
  /// gzip-decoded).
  HttpResponse send(const HttpRequest& request, const CancelToken* cancel = nullptr);

  /// on_headers(head) once (1xx interim responses are skipped), then
  /// on_data(bytes) per decoded piece received, until the body ends or on_data
  /// says finished or stop (see BodyControl). Returns the head.
  HttpResponse stream(const HttpRequest& request,
                      const std::function<void(const HttpResponse& head)>& on_headers,
                      const std::function<BodyControl(std::string_view)>& on_data,
                      const CancelToken* cancel = nullptr);

  const HttpClientOptions& options() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cnai::clients
