// zlib inflate with automatic gzip/zlib header detection (windowBits 32+15).
#include "clients/http/gzip_decoder.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include "cnai/core/error.hpp"

namespace cnai::clients::detail {

struct GzipDecoder::State {
  z_stream zs{};
  bool ended = false;
};

GzipDecoder::GzipDecoder() : state_(std::make_unique<State>()) {
  if (inflateInit2(&state_->zs, 32 + MAX_WBITS) != Z_OK) {
    throw Error(ErrorCode::internal, "zlib inflateInit2 failed");
  }
}

GzipDecoder::~GzipDecoder() { inflateEnd(&state_->zs); }

void GzipDecoder::feed(std::string_view compressed, const std::function<void(std::string_view)>& out) {
  z_stream& zs = state_->zs;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());
  char buffer[16384];
  while (zs.avail_in > 0 && !state_->ended) {
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof(buffer);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      throw Error(ErrorCode::upstream,
                  fmt::format("corrupt gzip response body: {}", zs.msg ? zs.msg : "inflate failed"));
    }
    const std::size_t produced = sizeof(buffer) - zs.avail_out;
    if (produced > 0) out(std::string_view(buffer, produced));
    if (rc == Z_STREAM_END) state_->ended = true;
    if (rc == Z_BUF_ERROR && produced == 0) break;  // needs more input
  }
}

void GzipDecoder::finish() const {
  if (!state_->ended) throw Error(ErrorCode::upstream, "gzip response body is truncated");
}

}  // namespace cnai::clients::detail
