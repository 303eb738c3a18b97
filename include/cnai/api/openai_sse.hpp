// The Server-Sent Events framing of a Chat Completions stream, as the OpenAI
// API writes it: "data: {chunk}\n\n" per ChatChunk, an optional usage-only
// last chunk (stream_options.include_usage), "data: [DONE]\n\n", and error
// events. For servers; the clients' SSE parser reads the same format.
#pragma once

#include <cstdint>
#include <string>

#include "cnai/api/types.hpp"
#include "cnai/core/error.hpp"

namespace cnai {

class OpenAiSseWriter {
 public:
  struct Options {
    bool include_usage = false;  // the request's stream_include_usage
    std::int64_t created = 0;    // unix seconds, the same on every chunk
  };
  explicit OpenAiSseWriter(Options options);

  /// One event for `chunk`. With include_usage every chunk says "usage": null
  /// and a chunk that carries usage is followed by one with no choices and the
  /// usage (OpenAI's shape); without it, usage is left out.
  std::string chunk(const ChatChunk& chunk);
  /// The end of a stream that succeeded.
  std::string done() const;
  /// An in-stream error event ({"error": {...}}, see openai_error_json); the
  /// stream then ends without [DONE].
  std::string error(const Error& error) const;

 private:
  Options options_;
};

}  // namespace cnai
