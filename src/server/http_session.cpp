// HttpSession: the steps of one connection. Everything below runs on the
// connection's strand except the ResponseSink calls (compute threads),
// which share only the mutex-guarded streaming state.
#include "server/http_session.hpp"

#include <fmt/format.h>
#include <sys/socket.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include "server/anthropic_messages.hpp"
#include "server/error_reply.hpp"
#include "server/http_parse.hpp"
#include "server/server_core.hpp"

namespace cnai::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

// The route label for metrics: ids replaced so the label set stays small.
std::string route_label(const std::string& path) {
  std::string out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    const auto next = path.find('/', pos + 1);
    std::string_view seg = std::string_view(path).substr(pos, next == std::string::npos ? next : next - pos);
    const bool id = seg.find('-') != std::string_view::npos || seg.find('_') != std::string_view::npos;
    out += id && out.size() > 3 ? "/{id}" : std::string(seg);
    pos = next == std::string::npos ? path.size() : next;
  }
  return out.size() > 64 ? out.substr(0, 64) : out;
}

}  // namespace

HttpSession::HttpSession(net::ip::tcp::socket socket, ServerCore& core, bool reject)
    : stream_(std::move(socket)), core_(core), reject_(reject) {
  ++core_.connections;
}

HttpSession::~HttpSession() {
  --core_.connections;
  core_.remove_session(this);
  if (counted_in_flight_) --core_.in_flight;
}

void HttpSession::start() {
  core_.add_session(this, weak_from_this());
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    if (self->reject_) {
      self->core_.metrics.rejected("connections");
      self->refuse(error_reply(503, "The server is at its connection limit; retry shortly.", {}, "overloaded"));
      return;
    }
    self->read_header();
  });
}

void HttpSession::close() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    self->client_gone();
    self->do_close();
  });
}

void HttpSession::read_header() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(core_.options.limits.max_header_bytes));
  parser_->body_limit(core_.options.limits.max_upload_bytes);
  stream_.expires_after(first_request_ ? core_.options.limits.header_timeout : core_.options.limits.idle_timeout);
  first_request_ = false;
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
}

void HttpSession::on_header(beast::error_code ec) {
  const auto& limits = core_.options.limits;
  if (ec == http::error::header_limit) {
    core_.metrics.rejected("header_too_large");
    return refuse(error_reply(431, "Request header fields too large", {}));
  }
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
      ec == net::error::connection_reset || ec == net::error::eof) {
    return do_close();
  }
  if (ec) {
    core_.metrics.rejected("malformed");
    return refuse(error_reply(400, fmt::format("Malformed HTTP request: {}", ec.message()), {}));
  }
  const auto& head = parser_->get();
  if (static_cast<std::size_t>(std::distance(head.begin(), head.end())) > limits.max_header_count) {
    core_.metrics.rejected("header_count");
    return refuse(error_reply(431, fmt::format("More than {} header fields", limits.max_header_count), {}));
  }
  started_ = std::chrono::steady_clock::now();
  const std::string target(head.target());
  const std::string path = target.substr(0, target.find('?'));
  route_ = route_label(path);
  const bool upload = head.method() == http::verb::post && path == "/v1/files";
  const std::size_t limit = upload ? limits.max_upload_bytes : limits.max_body_bytes;
  parser_->body_limit(limit);
  if (parser_->content_length() && *parser_->content_length() > limit) {
    core_.metrics.rejected("body_too_large");
    return refuse(error_reply(413, fmt::format("Request body larger than {} bytes", limit), {}));
  }
  // Probes and metrics stay open; everything else needs a key when keys are configured.
  if (path != "/healthz" && path != "/readyz" && path != "/metrics") {
    std::optional<std::string> key;
    if (auto auth = head.find(http::field::authorization); auth != head.end()) {
      if (auth->value().starts_with("Bearer ")) key = std::string(auth->value().substr(7));
    } else if (auto x = head.find("x-api-key"); x != head.end()) {
      key = std::string(x->value());  // Anthropic's SDK
    }
    key_name_.clear();
    int retry_after_s = 1;
    switch (core_.authenticate(key, key_name_, retry_after_s)) {
      case ServerCore::AuthResult::ok: break;
      case ServerCore::AuthResult::missing:
        return refuse(error_reply(401, "You didn't provide an API key (Authorization: Bearer ...).", {}, "invalid_api_key"));
      case ServerCore::AuthResult::invalid:
        return refuse(error_reply(401, "Incorrect API key provided.", {}, "invalid_api_key"));
      case ServerCore::AuthResult::rate_limited:
        core_.metrics.rejected("key_rate_limit");
      {
        HttpReply r = error_reply(429, fmt::format("Rate limit reached for this API key; retry in {} s.", retry_after_s),
                                  {}, "rate_limit_exceeded");
        for (auto& [k, v] : r.headers) {
          if (k == "retry-after") v = std::to_string(retry_after_s);
        }
        return refuse(std::move(r));
      }
    }
  }
  stream_.expires_after(limits.body_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_body(e); });
}

void HttpSession::on_body(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    core_.metrics.rejected("body_too_large");
    return refuse(error_reply(413, "Request body too large", {}));
  }
  if (ec) {
    if (ec != beast::error::timeout && ec != net::error::eof && ec != http::error::end_of_stream &&
        ec != net::error::connection_reset && ec != http::error::partial_message) {
      return refuse(error_reply(400, fmt::format("Malformed HTTP request body: {}", ec.message()), {}));
    }
    return do_close();
  }
  stream_.expires_never();
  auto msg = parser_->release();
  keep_alive_ = msg.keep_alive();
  HttpRequest req = to_http_request(std::move(msg));
  req.api_key_name = key_name_;
  dispatch(std::move(req));
}

void HttpSession::dispatch(HttpRequest req) {
  if (req.path == "/healthz" && req.method == "GET") {
    return send({200, "application/json", {}, R"({"status":"ok"})"}, !keep_alive_);
  }
  if (req.path == "/readyz" && req.method == "GET") {
    const std::vector<std::string> reasons = core_.unready();
    if (reasons.empty()) return send({200, "application/json", {}, R"({"status":"ready"})"}, !keep_alive_);
    boost::json::array why;
    for (const std::string& r : reasons) why.emplace_back(r);
    return send({503, "application/json", {},
                 boost::json::serialize(boost::json::object{{"status", "not ready"}, {"reasons", std::move(why)}})},
                !keep_alive_);
  }
  if (core_.draining.load()) {
    core_.metrics.rejected("draining");
    return send(error_reply(503, "The server is shutting down.", {}, "unavailable"), true);
  }
  ++core_.in_flight;
  counted_in_flight_ = true;
  computing_ = true;
  stop_ = std::stop_source();
  auto job = [self = shared_from_this(), req = std::move(req)]() mutable {
    HttpReply reply;
    if (req.path == "/metrics" && req.method == "GET") {
      reply.content_type = "text/plain; version=0.0.4";
      reply.body = self->core_.metrics_text();
    } else {
      reply = self->core_.api.handle(req, *self);
    }
    net::post(self->stream_.get_executor(),
              [self, reply = std::move(reply)]() mutable { self->on_handled(std::move(reply)); });
  };
  if (!core_.pool.try_submit(std::move(job))) {
    computing_ = false;
    --core_.in_flight;
    counted_in_flight_ = false;
    core_.metrics.rejected("queue_full");
    return send(error_reply(429, "The server is busy; retry shortly.", {}, "overloaded"), !keep_alive_);
  }
  watch_disconnect();
}

void HttpSession::watch_disconnect() {
  stream_.socket().async_wait(net::ip::tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
    if (!self->computing_) return;
    if (ec) return self->client_gone();
    char c;
    const ssize_t n = ::recv(self->stream_.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) self->client_gone();
    // n > 0: the client sent its next request early; it is read after this one.
  });
}

void HttpSession::client_gone() {
  stop_.request_stop();
  {
    std::lock_guard lock(mutex_);
    gone_ = true;
  }
  drained_.notify_all();
}

void HttpSession::on_handled(HttpReply reply) {
  computing_ = false;
  bool streamed = false;
  bool gone = false;
  {
    std::lock_guard lock(mutex_);
    streamed = head_sent_;
    gone = gone_;
    if (streamed) stream_done_ = true;
    if (gone) head_sent_ = false;
  }
  if (gone) {  // the client left mid-request: nothing to send
    if (streamed) --core_.streams;
    if (counted_in_flight_) {
      counted_in_flight_ = false;
      --core_.in_flight;
      core_.metrics.observe(route_, 499, std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    }
    return do_close();
  }
  if (!streamed) return send(std::move(reply), !keep_alive_);
  queue_raw("0\r\n\r\n");  // the last chunk; write_next() finishes the exchange after it
}

void HttpSession::send(HttpReply reply, bool close_after) {
  close_after = close_after || core_.draining.load();  // a draining server keeps no connection open
  if (route_.starts_with("/v1/messages")) to_anthropic_error(reply);  // refusals before the route, in its shape
  auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(reply.status), 11);
  res->set(http::field::server, "cnai");
  res->set(http::field::content_type, reply.content_type);
  for (auto& [k, v] : reply.headers) res->set(k, v);
  res->keep_alive(!close_after);
  res->body() = std::move(reply.body);
  res->prepare_payload();
  stream_status_ = reply.status;
  reply_holder_ = res;
  stream_.expires_after(core_.options.limits.write_timeout);
  http::async_write(stream_, *res, [self = shared_from_this(), close_after](beast::error_code ec, std::size_t) {
    self->on_write(ec, close_after);
  });
}

void HttpSession::on_write(beast::error_code ec, bool close_after) {
  reply_holder_.reset();
  if (counted_in_flight_) {
    counted_in_flight_ = false;
    --core_.in_flight;
    core_.metrics.observe(route_, stream_status_,
                          std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
  }
  if (ec || close_after) return do_close();
  read_header();
}

// ---- streaming ---------------------------------------------------------------

void HttpSession::start_stream(int status, std::string content_type, HeaderList headers) {
  std::string head = fmt::format("HTTP/1.1 {} {}\r\nServer: cnai\r\nContent-Type: {}\r\nTransfer-Encoding: chunked\r\n",
                                 status, http::obsolete_reason(static_cast<http::status>(status)), content_type);
  for (auto& [k, v] : headers) head += fmt::format("{}: {}\r\n", k, v);
  const bool keep = keep_alive_ && !core_.draining.load();
  head += keep ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  {
    std::lock_guard lock(mutex_);
    head_sent_ = true;
    stream_status_ = status;
  }
  ++core_.streams;
  net::post(stream_.get_executor(), [self = shared_from_this(), head = std::move(head)]() mutable {
    self->queue_raw(std::move(head));
  });
}

bool HttpSession::write(std::string data) {
  if (data.empty()) return !stop_.stop_requested();
  std::string framed = fmt::format("{:x}\r\n", data.size());
  framed += data;
  framed += "\r\n";
  {
    std::unique_lock lock(mutex_);
    // Backpressure: a slow reader makes generation wait, bounded by the
    // write timeout (which drops the reader and wakes this with gone_).
    drained_.wait(lock, [this] { return gone_ || pending_bytes_ < core_.options.limits.stream_buffer_bytes; });
    if (gone_) return false;
  }
  net::post(stream_.get_executor(), [self = shared_from_this(), framed = std::move(framed)]() mutable {
    self->queue_raw(std::move(framed));
  });
  std::lock_guard lock(mutex_);
  return !gone_;
}

bool HttpSession::streaming() const {
  std::lock_guard lock(mutex_);
  return head_sent_;
}

void HttpSession::queue_raw(std::string bytes) {
  bool start = false;
  {
    std::lock_guard lock(mutex_);
    if (gone_) return;
    pending_bytes_ += bytes.size();
    pending_.push_back(std::move(bytes));
    start = !writing_;
    writing_ = true;
  }
  if (start) write_next();
}

void HttpSession::write_next() {
  bool finished = false;
  {
    std::lock_guard lock(mutex_);
    if (pending_.empty()) {
      writing_ = false;
      finished = stream_done_;
    } else {
      current_ = std::move(pending_.front());
      pending_.pop_front();
    }
  }
  if (finished) {
    {
      std::lock_guard lock(mutex_);
      head_sent_ = stream_done_ = false;
    }
    --core_.streams;
    return on_write({}, !keep_alive_ || core_.draining.load());
  }
  if (!writing_) return;
  stream_.expires_after(core_.options.limits.write_timeout);
  net::async_write(stream_, net::buffer(current_),
                   [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_stream_write(ec); });
}

void HttpSession::on_stream_write(beast::error_code ec) {
  stream_.expires_never();
  if (ec) {
    client_gone();
    {
      std::lock_guard lock(mutex_);
      if (head_sent_) --core_.streams;
      head_sent_ = false;
    }
    return do_close();
  }
  {
    std::lock_guard lock(mutex_);
    pending_bytes_ -= current_.size();
  }
  drained_.notify_all();
  write_next();
}

void HttpSession::refuse(HttpReply reply) {
  linger_ = true;
  send(std::move(reply), true);
}

void HttpSession::do_close() {
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  if (!linger_ || core_.stopping.load()) return stream_.close();
  // Closing with unread bytes would send an RST, and the client could lose
  // the refusal it has not read yet: drop what it still sends (bounded in
  // bytes and time), then close.
  linger_ = false;
  stream_.expires_after(std::chrono::seconds(2));
  discard_input();
}

void HttpSession::discard_input() {
  buffer_.clear();
  stream_.async_read_some(buffer_.prepare(16384), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    self->discarded_ += n;
    if (ec || self->discarded_ > (std::size_t{4} << 20) || self->core_.stopping.load()) return self->stream_.close();
    self->discard_input();
  });
}

}  // namespace cnai::server
