// One HTTP/1.1 response read from raw bytes fed in any pieces: 1xx interim
// responses skipped, everything it holds bounded (the head, each chunk header,
// the trailer; body bytes on the wire and decoded), gzip decoded, the head
// handed out once and the body in decoded pieces. No sockets: the client feeds
// it what it reads, and the fuzzer feeds it arbitrary bytes the same way.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "clients/http/http_client.hpp"

namespace cnai::clients::detail {

struct ResponseLimits {
  /// Status line and headers; also each chunk header and the trailer section
  /// (none may be longer than this, so a server cannot grow the buffer).
  std::size_t max_head_bytes = kMaxResponseHeadBytes;
  std::size_t max_body_bytes = std::size_t{64} << 20;  // after gzip decoding
  /// Everything read for the response, framing included.
  std::size_t max_wire_bytes = (std::size_t{64} << 20) * 2 + (std::size_t{1} << 20);
};

class ResponseParser {
 public:
  using HeadCallback = std::function<void(const HttpResponse& head)>;
  using DataCallback = std::function<BodyControl(std::string_view decoded)>;

  /// `origin` names the server in errors. Without `on_data` the body is
  /// collected into the response; `head_request`: no body follows the head.
  ResponseParser(std::string origin, ResponseLimits limits, bool head_request, HeadCallback on_head,
                 DataCallback on_data);
  ~ResponseParser();
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  /// Bytes read from the connection. Throws Error(upstream) for a malformed
  /// or oversized response — unless on_data already said `finished`: what
  /// follows the end of a stream cannot fail it (see broken()).
  void feed(std::string_view bytes);
  /// The connection reached its end: completes a body delimited by the close;
  /// otherwise throws Error(unavailable) ("closed the connection while ...").
  void finish_eof();

  bool head_done() const noexcept;
  /// The whole message has been read.
  bool done() const noexcept;
  /// What on_data said last (more until it says finished or stop).
  BodyControl control() const noexcept;
  /// Something after `finished` was malformed (the stream still succeeded).
  bool broken() const noexcept;
  /// Any byte of a response has arrived (a reused connection that fails
  /// before one is stale, and the request may be retried).
  bool received_any() const noexcept;
  /// done() and the server lets the connection be reused.
  bool reusable() const noexcept;
  /// The head, plus the body when there was no on_data.
  HttpResponse take_response();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace cnai::clients::detail
