// HttpClient: a keep-alive pool of Connections per origin with fair slots,
// request writing, response reading through ResponseParser (bounded; gzip),
// draining after a stream's end, one retry on a stale pooled connection,
// cancellation.
#include "clients/http/http_client.hpp"

#include <fmt/format.h>

#include <boost/beast/http.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>

#include "clients/http/connection.hpp"
#include "clients/http/origin_slots.hpp"
#include "clients/http/response_parser.hpp"
#include "cnai/core/error.hpp"
#include "cnai/version.hpp"

namespace cnai::clients {
namespace http = boost::beast::http;
using namespace detail;

const char* const kUserAgent = "cnai/" CNAI_VERSION_STRING;

namespace {

// After a stream's end marker the rest of the body is read for this long (and
// this much) at most, to put the connection back in the pool; past that the
// connection is dropped, and the call has succeeded either way.
constexpr auto kDrainTime = std::chrono::milliseconds(500);
constexpr std::size_t kDrainBytes = 64 * 1024;

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
  bool has_accept_encoding = false, has_user_agent = false;
  for (const auto& [name, value] : request.headers) {
    if (beast::iequals(name, "accept-encoding")) has_accept_encoding = true;
    if (beast::iequals(name, "user-agent")) has_user_agent = true;
    out.insert(name, value);
  }
  if (!has_user_agent) out.set(http::field::user_agent, kUserAgent);
  if (accept_gzip && !has_accept_encoding) out.set(http::field::accept_encoding, "gzip");
  out.body() = request.body;
  if (!request.body.empty() || verb == http::verb::post || verb == http::verb::put ||
      verb == http::verb::patch) {
    out.prepare_payload();
  }
  return out;
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

using HeadFn = std::function<void(const HttpResponse&)>;
using DataFn = std::function<BodyControl(std::string_view)>;

}  // namespace

struct HttpClient::Impl {
  HttpClientOptions options;
  std::optional<Url> proxy;
  ssl::context tls{ssl::context::tls_client};
  OriginSlots slots;
  std::mutex idle_mutex;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle;

  explicit Impl(HttpClientOptions opts);
  ResponseLimits limits() const;
  std::unique_ptr<Connection> take_idle(const Url& url);
  void give_back(std::unique_ptr<Connection> connection);
  std::unique_ptr<Connection> open(const Url& url, Clock::time_point total_deadline, const CancelToken* cancel);
  HttpResponse exchange(const HttpRequest& request, const HeadFn* on_headers, const DataFn* on_data,
                        const CancelToken* cancel);
  HttpResponse exchange_on(Connection& connection, const HttpRequest& request, const HeadFn* on_headers,
                           const DataFn* on_data, const CancelToken* cancel, Clock::time_point total_deadline,
                           bool& keep_alive);
  bool drain(Connection& connection, ResponseParser& parser, Clock::time_point total_deadline);
};

HttpClient::Impl::Impl(HttpClientOptions opts)
    : options(std::move(opts)), proxy(proxy_from(options)), slots(std::max<std::size_t>(1, options.max_connections_per_host)) {
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

ResponseLimits HttpClient::Impl::limits() const {
  ResponseLimits l;
  l.max_body_bytes = options.max_body_bytes;
  l.max_wire_bytes = options.max_body_bytes * 2 + (std::size_t{1} << 20);  // gzip and chunk framing aside
  return l;
}

std::unique_ptr<Connection> HttpClient::Impl::take_idle(const Url& url) {
  std::lock_guard lock(idle_mutex);
  auto it = idle.find(connection_key(url));
  if (it == idle.end() || it->second.empty()) return nullptr;
  auto connection = std::move(it->second.back());  // most recently used: least likely stale
  it->second.pop_back();
  connection->reused = true;
  return connection;
}

void HttpClient::Impl::give_back(std::unique_ptr<Connection> connection) {
  if (!connection->settle()) return;
  std::lock_guard lock(idle_mutex);
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
  connection->open(via_proxy ? proxy : std::nullopt, phase, cancel, options.resolver);
  return connection;
}

HttpResponse HttpClient::Impl::exchange(const HttpRequest& request, const HeadFn* on_headers, const DataFn* on_data,
                                        const CancelToken* cancel) {
  const auto total_deadline = Clock::now() + options.timeouts.total;
  if (cancel && cancel->cancelled()) throw Error(ErrorCode::cancelled, "HTTP request cancelled before it started");
  const std::string key = connection_key(request.url);
  OriginSlots::Slot slot = slots.acquire(key, std::min(total_deadline, Clock::now() + options.timeouts.connect),
                                         options.timeouts.connect, cancel);
  auto connection = take_idle(request.url);
  for (int attempt = 0;; ++attempt) {
    if (!connection) connection = open(request.url, total_deadline, cancel);
    bool keep_alive = false;
    try {
      HttpResponse response = exchange_on(*connection, request, on_headers, on_data, cancel, total_deadline, keep_alive);
      if (keep_alive) give_back(std::move(connection));
      return response;
    } catch (const StaleConnection& stale) {
      if (attempt > 0) throw Error(ErrorCode::unavailable, stale.message);
      connection.reset();  // retry once on a fresh connection
    }
  }
}

HttpResponse HttpClient::Impl::exchange_on(Connection& connection, const HttpRequest& request, const HeadFn* on_headers,
                                           const DataFn* on_data, const CancelToken* cancel,
                                           Clock::time_point total_deadline, bool& keep_alive) {
  const auto& timeouts = options.timeouts;
  CancelGuard guard(cancel, connection);
  auto message = build_request(request, on_data == nullptr);
  ResponseParser parser(connection.key(), limits(), message.method() == http::verb::head,
                        on_headers ? *on_headers : HeadFn{}, on_data ? *on_data : DataFn{});

  // A reused connection the server has meanwhile closed fails before any
  // response byte: that is safe to retry.
  auto check = [&](beast::error_code ec, const Phase& phase) {
    if (ec && connection.reused && !(cancel && cancel->cancelled()) && !parser.received_any() &&
        ec != beast::error::timeout) {
      throw StaleConnection{fmt::format("{} while {} {} (retried)", ec.message(), phase.what, connection.key())};
    }
    if (ec) connection.fail(ec, phase, cancel);
    if (cancel && cancel->cancelled()) connection.fail(asio::error::operation_aborted, phase, cancel);
  };
  Phase phase = Phase::make("sending the request to", "first_byte", timeouts.first_byte, total_deadline, timeouts.total);
  check(connection.run_noexcept(phase, [&](auto& stream, auto handler) { http::async_write(stream, message, handler); }),
        phase);
  phase.what = "waiting for the response head from";
  char piece[32 * 1024];
  while (!parser.done() && parser.control() == BodyControl::more) {
    if (parser.head_done()) {
      phase = Phase::make("reading the response body from", "idle_read", timeouts.idle_read, total_deadline,
                          timeouts.total);
    }
    std::size_t n = 0;
    const beast::error_code ec = connection.read_some(phase, piece, sizeof piece, n);
    if (ec == asio::error::eof || ec == ssl::error::stream_truncated) {
      if (!parser.received_any() && connection.reused) check(ec, phase);  // stale
      parser.finish_eof();
      break;
    }
    check(ec, phase);
    parser.feed(std::string_view(piece, n));
  }
  bool drained = parser.done();
  if (parser.control() == BodyControl::finished && !drained) drained = drain(connection, parser, total_deadline);
  keep_alive = drained && parser.reusable();
  return parser.take_response();
}

// Reads the rest of a stream whose end marker has arrived, briefly and
// boundedly; true when the body ended (the connection may be reused). Never
// throws: the caller has its answer whatever the server does now.
bool HttpClient::Impl::drain(Connection& connection, ResponseParser& parser, Clock::time_point total_deadline) {
  const Phase phase = Phase::make("draining the stream from", "drain", kDrainTime, total_deadline, options.timeouts.total);
  char piece[8 * 1024];
  std::size_t drained = 0;
  while (!parser.done() && !parser.broken() && drained < kDrainBytes) {
    std::size_t n = 0;
    if (connection.read_some(phase, piece, sizeof piece, n) || n == 0) return false;
    drained += n;
    parser.feed(std::string_view(piece, n));
  }
  return parser.done() && !parser.broken();
}

HttpClient::HttpClient(HttpClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpClient::~HttpClient() = default;

HttpResponse HttpClient::send(const HttpRequest& request, const CancelToken* cancel) {
  return impl_->exchange(request, nullptr, nullptr, cancel);
}

HttpResponse HttpClient::stream(const HttpRequest& request,
                                const std::function<void(const HttpResponse& head)>& on_headers,
                                const std::function<BodyControl(std::string_view)>& on_data,
                                const CancelToken* cancel) {
  return impl_->exchange(request, &on_headers, &on_data, cancel);
}

const HttpClientOptions& HttpClient::options() const noexcept { return impl_->options; }

}  // namespace cnai::clients
