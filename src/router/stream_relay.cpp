#include "router/stream_relay.hpp"

#include <algorithm>

namespace cnai::router {

void StreamRelay::begin_attempt(Watchdog::Watch* watch, std::chrono::milliseconds inter_chunk,
                                Clock::time_point total_deadline, bool keep_text) {
  watch_ = watch;
  inter_chunk_ = inter_chunk;
  total_deadline_ = total_deadline;
  keep_text_ = keep_text;
  attempt_first_chunk_.reset();
  if (!delivered_) held_.reset();  // a failed attempt's role chunk is not shown
}

bool StreamRelay::deliver(const ChatChunk& c) {
  delivered_ = true;  // whatever the caller saw, a second deployment must not repeat
  try {
    if (!caller_(c)) caller_stopped_ = true;
  } catch (...) {
    caller_error_ = std::current_exception();  // the caller's own: rethrown, never failed over
    caller_stopped_ = true;
  }
  return !caller_stopped_;
}

bool StreamRelay::on_chunk(const ChatChunk& c) {
  const auto now = Clock::now();
  if (!attempt_first_chunk_) attempt_first_chunk_ = now;
  if (watch_ && inter_chunk_.count() > 0) {
    auto next = now + inter_chunk_;
    if (total_deadline_ != Clock::time_point{}) next = std::min(next, total_deadline_);
    watch_->set_deadline(next);
  }
  if (caller_stopped_) return false;
  const bool content = !c.delta_content.empty() || !c.tool_calls.empty();
  if (!content && c.finish_reason == FinishReason::none && !c.usage) {
    if (!delivered_ && !held_) held_ = c;  // the role chunk waits for content
    return true;
  }
  if (!delivered_ && held_) {
    ChatChunk held = std::move(*held_);
    held_.reset();
    if (!deliver(held)) return false;
  }
  if (content) {
    bytes_ += c.delta_content.size();
    if (!c.tool_calls.empty()) tool_calls_ = true;
    if (keep_text_) text_ += c.delta_content;
  }
  if (joined_ && c.delta_role) {
    ChatChunk copy = c;
    copy.delta_role.reset();  // the caller had its role chunk from the first deployment
    return deliver(copy);
  }
  return deliver(c);
}

void StreamRelay::finish() {
  if (held_ && !caller_stopped_) {
    ChatChunk held = std::move(*held_);
    held_.reset();
    deliver(held);
  }
}

}  // namespace cnai::router
