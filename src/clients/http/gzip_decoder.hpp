// Incremental gzip (and zlib) decoding with zlib, for Content-Encoding: gzip.
// Decoded output goes to a callback piece by piece; corrupt input -> Error(upstream).
#pragma once

#include <functional>
#include <memory>
#include <string_view>

namespace cnai::clients::detail {

class GzipDecoder {
 public:
  GzipDecoder();
  ~GzipDecoder();
  GzipDecoder(const GzipDecoder&) = delete;
  GzipDecoder& operator=(const GzipDecoder&) = delete;

  void feed(std::string_view compressed, const std::function<void(std::string_view)>& out);
  /// Throws Error(upstream) if the compressed stream did not end properly.
  void finish() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cnai::clients::detail
