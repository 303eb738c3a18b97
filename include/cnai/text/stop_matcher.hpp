// StopMatcher — finds stop sequences in streamed text across token boundaries.
// Text that could still be the start of a stop sequence is held back; the stop
// text itself and anything after it is never emitted.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cnai/core/error.hpp"

namespace cnai {

/// Invariant: the concatenation of every Result::emit and flush() equals the full
/// text truncated before the earliest-starting occurrence of any stop string.
/// Only text that could still begin a stop is held back: the longest suffix that
/// is a proper prefix of some stop, or, while a complete stop was seen but a
/// longer stop starting earlier may still complete, the text from that start.
/// Stops and text are UTF-8, so emitted text never splits a character.
class StopMatcher {
 public:
  /// invalid_argument for an empty stop string or one that is not valid UTF-8.
  /// No stops at all is allowed: everything passes through.
  explicit StopMatcher(std::vector<std::string> stops);

  struct Result {
    std::string emit;
    bool stopped = false;
  };

  /// Appends streamed text. After stopped, further pushes emit nothing.
  Result push(std::string_view text);
  /// End of generation: releases the held-back text, truncated before a stop that
  /// was already complete (then stopped() becomes true). Empty once stopped.
  std::string flush();
  bool stopped() const noexcept { return stopped_; }
  /// Back to the initial state (same stops).
  void reset();
  const std::vector<std::string>& stops() const noexcept { return stops_; }

 private:
  std::size_t earliest_match() const;
  std::size_t earliest_pending(std::size_t limit) const;

  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace cnai
