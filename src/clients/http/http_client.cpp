// HttpClient: a keep-alive pool of Connections per origin, request writing,
// response reading in pieces (chunked/content-length by Beast's parser, gzip
// by zlib), body limits, one retry on a stale pooled connection, cancellation.
#include "clients/http/http_client.hpp"

#include <fmt/format.h>

#include <boost/beast/http.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <map>

#include "clients/http/connection.hpp"
#include "clients/http/gzip_decoder.hpp"
#include "cnai/core/error.hpp"

namespace cnai::clients {
namespace http = boost::beast::http;
using namespace detail;

namespace {

std::optional<Url> proxy_from(const HttpClientOptions& options) {
  std::string value = options.https_proxy;
  if (value.empty()) return std::nullopt;
  if (value.find("://") == std::string::npos) value = "http://" + value;
  return Url::parse(value);
}

// NO_PROXY syntax: comma-separated hosts or domain suffixes; "*" disables the proxy.
bool bypasses_proxy(const std::string& host, std::string_view list) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view entry = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (entry.starts_with('.')) entry.remove_prefix(1);
    if (entry.empty()) continue;
    if (entry == "*" || host == entry) return true;
    if (host.size() > entry.size() && host.ends_with(entry) && host[host.size() - entry.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

http::request<http::string_body> build_request(const HttpRequest& request, bool accept_gzip) {
  const http::verb verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown) {
    throw Error(ErrorCode::invalid_argument, fmt::format("unknown HTTP method '{}'", request.method));
  }
  const Url& url = request.url;
  const bool default_port = url.port == (url.scheme == "https" ? 443 : 80);
  const std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  http::request<http::string_body> out{verb, url.target, 11};
  out.set(http::field::host, default_port ? host : fmt::format("{}:{}", host, url.port));
  out.set(http::field::user_agent, "cnai/0.1");
  bool has_accept_encoding = false;
  for (const auto& [name, value] : request.headers) {
    if (beast::iequals(name, "accept-encoding")) has_accept_encoding = true;
    out.insert(name, value);
  }
  if (accept_gzip && !has_accept_encoding) out.set(http::field::accept_encoding, "gzip");
  out.body() = request.body;
  if (!request.body.empty() || verb == http::verb::post || verb == http::verb::put ||
      verb == http::verb::patch) {
    out.prepare_payload();
  }
  return out;
}

bool is_gzip(const HttpResponse& head) {
  const auto encoding = head.header("content-encoding");
  return encoding && (beast::iequals(*encoding, "gzip") || beast::iequals(*encoding, "x-gzip"));
}

// Registers a cancellation callback for the lifetime of one exchange.
class CancelGuard {
 public:
  CancelGuard(const CancelToken* token, Connection& connection) : token_(token) {
    if (token_) id_ = token_->add_callback([&connection] { connection.close_async(); });
  }
  ~CancelGuard() {
    if (token_) token_->remove_callback(id_);
  }
  CancelGuard(const CancelGuard&) = delete;
  CancelGuard& operator=(const CancelGuard&) = delete;

 private:
  const CancelToken* token_;
  std::uint64_t id_ = 0;
};

}  // namespace

struct HttpClient::Impl {
  HttpClientOptions options;
  std::optional<Url> proxy;
  ssl::context tls{ssl::context::tls_client};
  std::mutex mutex;
  std::condition_variable slot_freed;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle;
  std::map<std::string, std::size_t> active;  // connections in use, per origin

  void acquire_slot(const std::string& key, Clock::time_point deadline, const CancelToken* cancel);
  void release_slot(const std::string& key);

  explicit Impl(HttpClientOptions opts);
  std::unique_ptr<Connection> take_idle(const Url& url);
  void give_back(std::unique_ptr<Connection> connection);
  std::unique_ptr<Connection> open(const Url& url, Clock::time_point total_deadline, const CancelToken* cancel);
  HttpResponse exchange(const HttpRequest& request, const std::function<void(const HttpResponse&)>* on_headers,
                        const std::function<bool(std::string_view)>* on_data, const CancelToken* cancel);
  HttpResponse exchange_on(Connection& connection, const HttpRequest& request,
                           const std::function<void(const HttpResponse&)>* on_headers,
                           const std::function<bool(std::string_view)>* on_data, const CancelToken* cancel,
                           Clock::time_point total_deadline, bool& keep_alive);
};

HttpClient::Impl::Impl(HttpClientOptions opts) : options(std::move(opts)), proxy(proxy_from(options)) {
  tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  beast::error_code ec;
  if (options.ca_file.empty()) {
    tls.set_default_verify_paths(ec);
  } else {
    tls.load_verify_file(options.ca_file, ec);
  }
  if (ec) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("cannot load CA certificates '{}': {}",
                            options.ca_file.empty() ? "system store" : options.ca_file, ec.message()));
  }
  tls.set_verify_mode(options.verify_peer ? ssl::verify_peer : ssl::verify_none);
}

// At most max_connections_per_host requests run at once per origin; the rest
// wait (bounded by the connect timeout) for a connection to come free.
void HttpClient::Impl::acquire_slot(const std::string& key, Clock::time_point deadline,
                                    const CancelToken* cancel) {
  std::unique_lock lock(mutex);
  const std::size_t limit = std::max<std::size_t>(1, options.max_connections_per_host);
  while (active[key] >= limit) {
    if (cancel && cancel->cancelled()) {
      throw Error(ErrorCode::cancelled, fmt::format("HTTP request to {} cancelled while waiting for a connection", key));
    }
    if (Clock::now() >= deadline) {
      throw Error(ErrorCode::timeout, fmt::format("connect timeout ({} ms) expired waiting for one of the {} connections to {}",
                                                  options.timeouts.connect.count(), limit, key));
    }
    // Short waits so a cancel() is noticed without a callback here.
    slot_freed.wait_until(lock, std::min(deadline, Clock::now() + std::chrono::milliseconds(20)));
  }
  ++active[key];
}

void HttpClient::Impl::release_slot(const std::string& key) {
  {
    std::lock_guard lock(mutex);
    --active[key];
  }
  slot_freed.notify_one();
}

std::unique_ptr<Connection> HttpClient::Impl::take_idle(const Url& url) {
  std::lock_guard lock(mutex);
  auto it = idle.find(connection_key(url));
  if (it == idle.end() || it->second.empty()) return nullptr;
  auto connection = std::move(it->second.back());  // most recently used: least likely stale
  it->second.pop_back();
  connection->reused = true;
  return connection;
}

void HttpClient::Impl::give_back(std::unique_ptr<Connection> connection) {
  if (!connection->settle()) return;
  std::lock_guard lock(mutex);
  auto& list = idle[connection->key()];
  if (list.size() < options.max_connections_per_host) list.push_back(std::move(connection));
}

std::unique_ptr<Connection> HttpClient::Impl::open(const Url& url, Clock::time_point total_deadline,
                                                   const CancelToken* cancel) {
  const bool use_tls = url.scheme == "https";
  auto connection = std::make_unique<Connection>(url, use_tls ? &tls : nullptr);
  CancelGuard guard(cancel, *connection);
  const Phase phase = Phase::make("connecting to", "connect", options.timeouts.connect, total_deadline,
                                  options.timeouts.total);
  const bool via_proxy = proxy && use_tls && !bypasses_proxy(url.host, options.no_proxy);
  connection->open(via_proxy ? proxy : std::nullopt, phase, cancel);
  return connection;
}

HttpResponse HttpClient::Impl::exchange(const HttpRequest& request,
                                        const std::function<void(const HttpResponse&)>* on_headers,
                                        const std::function<bool(std::string_view)>* on_data,
                                        const CancelToken* cancel) {
  const auto total_deadline = Clock::now() + options.timeouts.total;
  if (cancel && cancel->cancelled()) throw Error(ErrorCode::cancelled, "HTTP request cancelled before it started");
  const std::string key = connection_key(request.url);
  acquire_slot(key, std::min(total_deadline, Clock::now() + options.timeouts.connect), cancel);
  struct SlotGuard {
    Impl& impl;
    const std::string& key;
    ~SlotGuard() { impl.release_slot(key); }
  } slot{*this, key};
  auto connection = take_idle(request.url);
  for (int attempt = 0;; ++attempt) {
    if (!connection) connection = open(request.url, total_deadline, cancel);
    bool keep_alive = false;
    try {
      HttpResponse response =
          exchange_on(*connection, request, on_headers, on_data, cancel, total_deadline, keep_alive);
      if (keep_alive) give_back(std::move(connection));
      return response;
    } catch (const StaleConnection& stale) {
      if (attempt > 0) throw Error(ErrorCode::unavailable, stale.message);
      connection.reset();  // retry once on a fresh connection
    }
  }
}

HttpResponse HttpClient::Impl::exchange_on(Connection& connection, const HttpRequest& request,
                                           const std::function<void(const HttpResponse&)>* on_headers,
                                           const std::function<bool(std::string_view)>* on_data,
                                           const CancelToken* cancel, Clock::time_point total_deadline,
                                           bool& keep_alive) {
  const auto& timeouts = options.timeouts;
  CancelGuard guard(cancel, connection);
  auto message = build_request(request, on_data == nullptr);
  http::response_parser<http::buffer_body> parser;
  parser.header_limit(256 * 1024);
  parser.body_limit(boost::none);  // enforced below, after decoding
  if (message.method() == http::verb::head) parser.skip(true);

  // A reused connection the server has meanwhile closed fails before any
  // response byte: that is safe to retry.
  auto guard_stale = [&](const Phase& phase, auto&& initiate) {
    const auto ec = connection.run_noexcept(phase, initiate);
    if (ec && connection.reused && !(cancel && cancel->cancelled()) && !parser.got_some() &&
        connection.buffer().size() == 0 && ec != beast::error::timeout) {
      throw StaleConnection{fmt::format("{} while {} {} (retried)", ec.message(), phase.what, connection.key())};
    }
    if (ec) connection.fail(ec, phase, cancel);
    if (cancel && cancel->cancelled()) connection.fail(asio::error::operation_aborted, phase, cancel);
  };
  Phase phase = Phase::make("sending the request to", "first_byte", timeouts.first_byte, total_deadline,
                            timeouts.total);
  guard_stale(phase, [&](auto& stream, auto handler) { http::async_write(stream, message, handler); });
  phase.what = "waiting for the response head from";
  guard_stale(phase, [&](auto& stream, auto handler) {
    http::async_read_header(stream, connection.buffer(), parser, handler);
  });

  HttpResponse response;
  response.status = static_cast<int>(parser.get().result_int());
  for (const auto& field : parser.get()) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  if (on_headers) (*on_headers)(response);

  std::optional<GzipDecoder> gzip;
  if (is_gzip(response)) gzip.emplace();
  std::size_t decoded_bytes = 0;
  bool stopped = false;
  auto emit = [&](std::string_view piece) {
    if (stopped || piece.empty()) return;
    decoded_bytes += piece.size();
    if (decoded_bytes > options.max_body_bytes) {
      throw Error(ErrorCode::upstream, fmt::format("response body from {} exceeds {} bytes", connection.key(),
                                                   options.max_body_bytes));
    }
    if (on_data) {
      stopped = !(*on_data)(piece);
    } else {
      response.body.append(piece);
    }
  };

  char piece[32 * 1024];
  while (!parser.is_done() && !stopped) {
    parser.get().body().data = piece;
    parser.get().body().size = sizeof(piece);
    phase = Phase::make("reading the response body from", "idle_read", timeouts.idle_read, total_deadline,
                        timeouts.total);
    auto ec = connection.run_noexcept(phase, [&](auto& stream, auto handler) {
      http::async_read_some(stream, connection.buffer(), parser, handler);
    });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) connection.fail(ec, phase, cancel);
    if (cancel && cancel->cancelled()) connection.fail(asio::error::operation_aborted, phase, cancel);
    const std::string_view received(piece, sizeof(piece) - parser.get().body().size);
    if (gzip) {
      gzip->feed(received, emit);
    } else {
      emit(received);
    }
  }
  if (gzip && !stopped) gzip->finish();
  keep_alive = !stopped && parser.is_done() && parser.keep_alive();
  return response;
}

HttpClient::HttpClient(HttpClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpClient::~HttpClient() = default;

HttpResponse HttpClient::send(const HttpRequest& request, const CancelToken* cancel) {
  return impl_->exchange(request, nullptr, nullptr, cancel);
}

HttpResponse HttpClient::stream(const HttpRequest& request,
                                const std::function<void(const HttpResponse& head)>& on_headers,
                                const std::function<bool(std::string_view)>& on_data, const CancelToken* cancel) {
  return impl_->exchange(request, &on_headers, &on_data, cancel);
}

const HttpClientOptions& HttpClient::options() const noexcept { return impl_->options; }

}  // namespace cnai::clients
