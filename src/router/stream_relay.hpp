// StreamRelay: stands between a deployment's stream and the caller's callback.
// Chunks without content (the role chunk) are held back until content comes,
// so a stream that fails before its first content chunk fails over with
// nothing shown; once content reached the caller the relay knows it, and the
// router never splices a second deployment's text in (unless `continue`).
#pragma once

#include <chrono>
#include <exception>
#include <optional>
#include <string>

#include "cnai/api/types.hpp"
#include "router/watchdog.hpp"

namespace cnai::router {

class StreamRelay {
 public:
  using Clock = std::chrono::steady_clock;
  explicit StreamRelay(const ChunkCallback& caller) : caller_(caller) {}

  /// Before each attempt. `keep_text`: remember the content (for `continue`).
  void begin_attempt(Watchdog::Watch* watch, std::chrono::milliseconds inter_chunk, Clock::time_point total_deadline,
                     bool keep_text);
  /// The callback handed to the deployment.
  bool on_chunk(const ChatChunk& chunk);
  /// After a successful attempt: delivers a held chunk nothing followed.
  void finish();

  bool content_delivered() const noexcept { return delivered_; }
  bool attempt_had_chunk() const noexcept { return attempt_first_chunk_.has_value(); }
  std::optional<Clock::time_point> attempt_first_chunk() const noexcept { return attempt_first_chunk_; }
  bool caller_stopped() const noexcept { return caller_stopped_; }
  std::exception_ptr caller_error() const noexcept { return caller_error_; }
  bool tool_calls_delivered() const noexcept { return tool_calls_; }
  const std::string& text() const noexcept { return text_; }
  std::size_t content_bytes() const noexcept { return bytes_; }
  /// After a mid-stream failure that will be continued: later role chunks are dropped.
  void mark_joined() noexcept { joined_ = true; }

 private:
  bool deliver(const ChatChunk& c);
  const ChunkCallback& caller_;
  Watchdog::Watch* watch_ = nullptr;
  std::chrono::milliseconds inter_chunk_{0};
  Clock::time_point total_deadline_{};
  bool keep_text_ = false;
  std::optional<ChatChunk> held_;
  std::optional<Clock::time_point> attempt_first_chunk_;
  bool delivered_ = false;
  bool joined_ = false;
  bool tool_calls_ = false;
  bool caller_stopped_ = false;
  std::exception_ptr caller_error_;
  std::string text_;
  std::size_t bytes_ = 0;
};

}  // namespace cnai::router
