// StopMatcher: keeps the not-yet-emitted text in held_; after each push it emits
// the part no stop can start in, or stops at the earliest complete match once no
// stop starting earlier can still complete.
#include "cnai/text/stop_matcher.hpp"

#include <algorithm>
#include <utility>

#include "cnai/core/error.hpp"
#include "text/tokenizer_internal.hpp"

namespace cnai {
namespace {

constexpr std::size_t kNone = std::string::npos;

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = core::utf8_valid_length(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

}  // namespace

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  for (std::size_t i = 0; i < stops_.size(); ++i) {
    if (stops_[i].empty()) {
      throw Error(ErrorCode::invalid_argument, "StopMatcher: stop string " + std::to_string(i) + " is empty");
    }
    if (!valid_utf8(stops_[i])) {
      throw Error(ErrorCode::invalid_argument,
                  "StopMatcher: stop string " + std::to_string(i) + " is not valid UTF-8");
    }
  }
}

// Earliest start of a complete stop inside held_, or kNone.
std::size_t StopMatcher::earliest_match() const {
  std::size_t best = kNone;
  for (const auto& stop : stops_) best = std::min(best, held_.find(stop));
  return best;
}

// Earliest position q < limit whose suffix held_[q..] is a proper prefix of some
// stop (a stop may still start there), or kNone.
std::size_t StopMatcher::earliest_pending(std::size_t limit) const {
  std::size_t longest = 0;
  for (const auto& stop : stops_) longest = std::max(longest, stop.size());
  const std::size_t n = held_.size();
  const std::size_t first = n >= longest ? n - longest + 1 : 0;
  for (std::size_t q = first; q < std::min(n, limit); ++q) {
    const std::size_t rest = n - q;
    for (const auto& stop : stops_) {
      if (stop.size() > rest && stop.compare(0, rest, held_, q, rest) == 0) return q;
    }
  }
  return kNone;
}

StopMatcher::Result StopMatcher::push(std::string_view text) {
  Result result;
  if (stopped_) return result;
  held_.append(text);
  const std::size_t match = earliest_match();
  const std::size_t pending = earliest_pending(match);
  if (match != kNone && pending == kNone) {
    result.emit = held_.substr(0, match);
    held_.clear();
    stopped_ = result.stopped = true;
    return result;
  }
  // Without a pending start everything goes out (no match either, see above).
  const std::size_t cut = pending == kNone ? held_.size() : pending;
  result.emit = held_.substr(0, cut);
  held_.erase(0, cut);
  return result;
}

std::string StopMatcher::flush() {
  if (stopped_) return {};
  const std::size_t match = earliest_match();
  std::string out = std::move(held_);
  held_.clear();
  if (match != kNone) {
    out.resize(match);
    stopped_ = true;
  }
  return out;
}

void StopMatcher::reset() {
  held_.clear();
  stopped_ = false;
}

}  // namespace cnai
