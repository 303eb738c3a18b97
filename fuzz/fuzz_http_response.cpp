// libFuzzer target: the HTTP/1.1 response parser the client reads every
// response with (status line, headers, 1xx interim responses, chunked and
// Content-Length bodies, chunk extensions, trailers, gzip), fed in pieces as
// a socket would deliver them. The first byte picks the piece size and how
// the consumer reacts (more / finished after N bytes / stop). cnai::Error is
// fine; a crash, a leak, or memory beyond the limits is not.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "clients/http/response_parser.hpp"
#include "cnai/core/error.hpp"

using cnai::clients::BodyControl;
using cnai::clients::HttpResponse;
using cnai::clients::detail::ResponseLimits;
using cnai::clients::detail::ResponseParser;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t piece = 1 + (mode & 0x1f) * 37;  // 1 .. 1148 bytes per read
  const bool streaming = mode & 0x20;
  const std::size_t finish_after = (mode & 0x40) ? 64 : SIZE_MAX;
  ResponseLimits limits;
  limits.max_head_bytes = 4096;  // small limits: the fuzzer reaches them
  limits.max_body_bytes = 1 << 16;
  limits.max_wire_bytes = 1 << 18;
  std::size_t seen = 0;
  int heads = 0;
  ResponseParser::DataCallback on_data;
  if (streaming) {
    on_data = [&](std::string_view d) {
      seen += d.size();
      if (mode & 0x80 && seen > 32) return BodyControl::stop;
      return seen >= finish_after ? BodyControl::finished : BodyControl::more;
    };
  }
  try {
    ResponseParser parser("fuzz", limits, (mode & 0x1f) == 0x1f, [&](const HttpResponse&) { ++heads; }, on_data);
    for (std::size_t at = 0; at < bytes.size() && !parser.done() && parser.control() != BodyControl::stop; at += piece) {
      parser.feed(bytes.substr(at, piece));
    }
    if (!parser.done() && parser.control() == BodyControl::more) parser.finish_eof();
    const HttpResponse r = parser.take_response();
    if (heads > 1) __builtin_trap();  // the head is handed out once
    if (r.body.size() > limits.max_body_bytes) __builtin_trap();
  } catch (const cnai::Error&) {
  }
  return 0;
}
