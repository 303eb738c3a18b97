// Incremental Server-Sent Events parser (WHATWG event-stream rules), private.
// Bytes arrive in arbitrary pieces; complete events go to a callback.
// Bounded: a line or an event larger than the limit throws Error(upstream).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace cnai::clients {

struct SseEvent {
  std::string event = "message";  // the "event:" field, "message" if absent
  std::string data;               // "data:" lines joined with '\n'
  std::string id;                 // last event id seen on the stream so far
  std::optional<long> retry;      // "retry:" in ms, if this event set one
};

class SseParser {
 public:
  using EventCallback = std::function<void(const SseEvent&)>;

  explicit SseParser(std::size_t max_event_bytes = std::size_t{8} << 20);

  /// Parses `bytes` and calls `on_event` for each event completed by them.
  void feed(std::string_view bytes, const EventCallback& on_event);

  /// End of stream. Returns true if it ended mid-event (that partial event
  /// is discarded, as the spec says); false on a clean end.
  bool finish();

 private:
  void feed_lines(std::string_view bytes, const EventCallback& on_event);
  void process_line(std::string_view line, const EventCallback& on_event);
  void dispatch(const EventCallback& on_event);
  void check_size() const;

  std::size_t max_event_bytes_;
  std::string line_;             // current incomplete line
  bool skip_lf_ = false;         // last byte was CR: a following LF is the same line end
  bool at_start_ = true;         // BOM check pending
  std::string bom_buffer_;       // first bytes, held until the BOM is decided
  bool pending_fields_ = false;  // a field line seen since the last dispatch
  std::string data_;
  std::string event_type_;
  std::string last_id_;
  std::optional<long> retry_;
};

}  // namespace cnai::clients
