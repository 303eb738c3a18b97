// ResponseParser: Beast's response parser driven through put() over bytes we
// buffer ourselves, so that buffer is bounded: Beast parses a chunk header or
// a trailer only once it is whole, and a server that never ends one (endless
// chunk extensions, endless trailer fields) would otherwise grow it without end.
#include "clients/http/response_parser.hpp"

#include <fmt/format.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>

#include <exception>
#include <new>
#include <optional>

#include "clients/http/gzip_decoder.hpp"
#include "cnai/core/error.hpp"

namespace cnai::clients::detail {
namespace http = boost::beast::http;
using boost::beast::error_code;

namespace {

bool is_gzip(const HttpResponse& head) {
  const auto encoding = head.header("content-encoding");
  return encoding && (boost::beast::iequals(*encoding, "gzip") || boost::beast::iequals(*encoding, "x-gzip"));
}

}  // namespace

struct ResponseParser::State {
  std::string origin;
  ResponseLimits limits;
  bool head_request;
  HeadCallback on_head;
  DataCallback on_data;

  std::optional<http::response_parser<http::buffer_body>> parser;
  std::string pending;  // bytes Beast has not consumed yet (bounded)
  char piece[16 * 1024];
  HttpResponse response;
  std::optional<GzipDecoder> gzip;
  std::size_t wire_bytes = 0, decoded_bytes = 0;
  bool head_done = false, done = false, broken = false;
  BodyControl control = BodyControl::more;

  void new_parser() {
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(limits.max_head_bytes));
    parser->body_limit(boost::none);  // enforced on decoded bytes below
    parser->eager(false);  // one element per put(): the head first, untouched body
    if (head_request) parser->skip(true);
  }

  [[noreturn]] void malformed(const std::string& what) const {
    throw Error(ErrorCode::upstream, fmt::format("malformed HTTP response from {}: {}", origin, what));
  }

  void on_header() {
    const int status = static_cast<int>(parser->get().result_int());
    if (status == 101) malformed("unexpected 101 Switching Protocols");
    if (status >= 100 && status < 200) {  // 100 Continue, 103 Early Hints...: the real response follows
      new_parser();
      return;
    }
    head_done = true;
    response.status = status;
    for (const auto& field : parser->get()) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    if (is_gzip(response)) gzip.emplace();
    if (on_head) on_head(response);
  }

  void deliver(std::string_view decoded) {
    if (decoded.empty() || control != BodyControl::more) return;  // draining after finished
    decoded_bytes += decoded.size();
    if (decoded_bytes > limits.max_body_bytes) {
      throw Error(ErrorCode::upstream,
                  fmt::format("response body from {} exceeds {} bytes", origin, limits.max_body_bytes));
    }
    if (on_data) {
      control = on_data(decoded);
    } else {
      response.body.append(decoded);
    }
  }

  void emit(std::string_view raw) {
    if (raw.empty()) return;
    if (gzip) {
      gzip->feed(raw, [this](std::string_view d) { deliver(d); });
    } else {
      deliver(raw);
    }
  }

  void complete() {
    done = true;
    if (gzip && control == BodyControl::more) gzip->finish();
  }

  // Parses as much of `pending` as Beast can; returns when it needs more.
  void parse() {
    std::size_t offset = 0;
    while (!done && control != BodyControl::stop && offset < pending.size()) {
      const auto input = boost::asio::buffer(pending.data() + offset, pending.size() - offset);
      error_code ec;
      if (!parser->is_header_done()) {
        offset += parser->put(input, ec);
        if (ec == http::error::need_more) break;
        if (ec == http::error::header_limit) malformed(fmt::format("the head exceeds {} bytes", limits.max_head_bytes));
        if (ec) malformed(ec.message());
        if (parser->is_header_done()) on_header();
        if (head_done && parser->is_done()) complete();
        continue;
      }
      parser->get().body().data = piece;
      parser->get().body().size = sizeof piece;
      const std::size_t used = parser->put(input, ec);
      offset += used;
      const std::size_t got = sizeof piece - parser->get().body().size;
      if (ec == http::error::need_buffer || ec == http::error::need_more) ec = {};
      if (ec == http::error::header_limit) malformed(fmt::format("the trailer exceeds {} bytes", limits.max_head_bytes));
      if (ec) malformed(ec.message());
      emit(std::string_view(piece, got));
      if (parser->is_done()) complete();
      if (used == 0 && got == 0) break;  // Beast waits for the rest of a chunk header or trailer
    }
    pending.erase(0, offset);
    // What Beast holds back is a head, a chunk header or a trailer in parts:
    // bounded like a head, so a server cannot make it grow without end.
    if (!done && pending.size() > limits.max_head_bytes) {
      malformed(fmt::format("a chunk header or trailer exceeds {} bytes", limits.max_head_bytes));
    }
  }
};

ResponseParser::ResponseParser(std::string origin, ResponseLimits limits, bool head_request, HeadCallback on_head,
                               DataCallback on_data)
    : s_(std::make_unique<State>()) {
  s_->origin = std::move(origin);
  s_->limits = limits;
  s_->head_request = head_request;
  s_->on_head = std::move(on_head);
  s_->on_data = std::move(on_data);
  s_->new_parser();
}

ResponseParser::~ResponseParser() = default;

void ResponseParser::feed(std::string_view bytes) {
  if (s_->done || s_->broken || s_->control == BodyControl::stop) return;
  s_->wire_bytes += bytes.size();
  try {
    if (s_->wire_bytes > s_->limits.max_wire_bytes) {
      throw Error(ErrorCode::upstream, fmt::format("response from {} exceeds {} bytes on the wire", s_->origin,
                                                   s_->limits.max_wire_bytes));
    }
    s_->pending.append(bytes);
    s_->parse();
  } catch (const std::exception& e) {
    // After the caller's end marker nothing can fail the response: note it
    // (the connection is not reused) and stop parsing.
    if (s_->control == BodyControl::finished) {
      s_->broken = true;
      return;
    }
    if (dynamic_cast<const Error*>(&e)) throw;
    if (dynamic_cast<const std::bad_alloc*>(&e))
      throw Error(ErrorCode::out_of_memory, "out of memory reading the response from " + s_->origin);
    s_->malformed(e.what());  // e.g. a field Beast cannot store: typed, never a bare std::exception
  }
}

void ResponseParser::finish_eof() {
  if (s_->done || s_->control != BodyControl::more) return;
  const char* where = s_->head_done ? "reading the response body" : "waiting for the response head";
  if (s_->head_done) {
    error_code ec;
    s_->parser->put_eof(ec);  // completes a body delimited by the close
    if (!ec) {
      s_->complete();
      return;
    }
  }
  throw Error(ErrorCode::unavailable, fmt::format("{} closed the connection while {}", s_->origin, where));
}

bool ResponseParser::head_done() const noexcept { return s_->head_done; }
bool ResponseParser::done() const noexcept { return s_->done; }
BodyControl ResponseParser::control() const noexcept { return s_->control; }
bool ResponseParser::broken() const noexcept { return s_->broken; }
bool ResponseParser::received_any() const noexcept { return s_->wire_bytes > 0; }

bool ResponseParser::reusable() const noexcept {
  return s_->done && !s_->broken && s_->control != BodyControl::stop && s_->pending.empty() && s_->parser->keep_alive();
}

HttpResponse ResponseParser::take_response() { return std::move(s_->response); }

}  // namespace cnai::clients::detail
