// HttpSession — one client connection, in the shape of Boost.Beast's async
// server: each handler does one step (read head -> checks -> read body ->
// hand to a compute thread -> write -> next request), each with its time
// limit. While a request computes, a wait on the socket notices the client
// leaving and stops the request. Streamed replies are chunked writes fed by
// the compute thread through a bounded buffer (backpressure).
#pragma once

#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include "server/http_types.hpp"

namespace cnai::server {

class ServerCore;

class HttpSession final : public std::enable_shared_from_this<HttpSession>, public ResponseSink {
 public:
  /// `reject`: the server is at its connection limit; answer 503 and close.
  HttpSession(boost::asio::ip::tcp::socket socket, ServerCore& core, bool reject);
  ~HttpSession() override;
  void start();
  /// Closes the connection from any thread (server stop).
  void close();

  // ResponseSink (compute threads)
  void start_stream(int status, std::string content_type, HeaderList headers) override;
  bool write(std::string data) override;
  bool streaming() const override;
  std::stop_token stop_token() const override { return stop_.get_token(); }

 private:
  using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

  void read_header();
  void on_header(boost::beast::error_code ec);
  void on_body(boost::beast::error_code ec);
  void dispatch(HttpRequest request);
  void watch_disconnect();
  void on_handled(HttpReply reply);
  void send(HttpReply reply, bool close_after);
  void on_write(boost::beast::error_code ec, bool close_after);
  void queue_raw(std::string bytes);  // strand only
  void write_next();                  // strand only
  void on_stream_write(boost::beast::error_code ec);
  void client_gone();
  /// Refuses the request without reading (the rest of) its body: the reply,
  /// then a lingering close.
  void refuse(HttpReply reply);
  void do_close();
  void discard_input();  // strand only: reads and drops what the client still sends

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  ServerCore& core_;
  bool reject_;
  bool first_request_ = true;
  bool keep_alive_ = true;
  bool computing_ = false;
  bool counted_in_flight_ = false;
  bool linger_ = false;  // close by draining the client's unread bytes first
  std::size_t discarded_ = 0;
  std::string route_;     // for metrics
  std::string key_name_;  // the request's authenticated API key
  std::chrono::steady_clock::time_point started_;
  std::shared_ptr<void> reply_holder_;  // keeps the message alive during async_write
  std::stop_source stop_;

  // Streaming state, shared with the compute thread.
  mutable std::mutex mutex_;
  std::condition_variable_any drained_;
  std::deque<std::string> pending_;
  std::size_t pending_bytes_ = 0;
  std::string current_;  // being written
  bool writing_ = false;
  bool head_sent_ = false;
  bool stream_done_ = false;
  bool gone_ = false;
  int stream_status_ = 200;
};

}  // namespace cnai::server
