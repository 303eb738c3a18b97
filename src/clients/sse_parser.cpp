// SSE parsing per https://html.spec.whatwg.org/multipage/server-sent-events.html
// (section "Interpreting an event stream"), fed in arbitrary byte pieces.
#include "clients/sse_parser.hpp"

#include <fmt/format.h>

#include "cnai/core/error.hpp"

namespace cnai::clients {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

std::optional<long> parse_retry(std::string_view value) {
  if (value.empty() || value.size() > 12) return std::nullopt;
  long ms = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    ms = ms * 10 + (c - '0');
  }
  return ms;
}

}  // namespace

SseParser::SseParser(std::size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

void SseParser::feed(std::string_view bytes, const EventCallback& on_event) {
  if (at_start_) {
    // The BOM may itself arrive split; hold bytes until we can decide.
    bom_buffer_.append(bytes);
    if (bom_buffer_.size() < kBom.size() && kBom.starts_with(bom_buffer_)) return;
    at_start_ = false;
    std::string held = std::move(bom_buffer_);
    bom_buffer_.clear();
    std::string_view rest = held;
    if (rest.starts_with(kBom)) rest.remove_prefix(kBom.size());
    feed_lines(rest, on_event);
    return;
  }
  feed_lines(bytes, on_event);
}

void SseParser::feed_lines(std::string_view bytes, const EventCallback& on_event) {
  std::size_t i = 0;
  if (skip_lf_ && !bytes.empty()) {
    if (bytes[0] == '\n') i = 1;  // the LF of a CRLF split across pieces
    skip_lf_ = false;
  }
  while (i < bytes.size()) {
    const std::size_t end = bytes.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(i));
      check_size();
      return;
    }
    std::string_view piece = bytes.substr(i, end - i);
    if (line_.empty()) {
      process_line(piece, on_event);
    } else {
      line_.append(piece);
      check_size();
      std::string line = std::move(line_);
      line_.clear();
      process_line(line, on_event);
    }
    i = end + 1;
    if (bytes[end] == '\r') {
      if (i < bytes.size()) {
        if (bytes[i] == '\n') ++i;
      } else {
        skip_lf_ = true;
      }
    }
  }
}

void SseParser::process_line(std::string_view line, const EventCallback& on_event) {
  if (line.empty()) {
    dispatch(on_event);
    return;
  }
  if (line.front() == ':') return;  // comment
  std::string_view field = line;
  std::string_view value;
  if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  pending_fields_ = true;
  if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "event") {
    event_type_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  } else if (field == "retry") {
    if (auto ms = parse_retry(value)) retry_ = ms;
  }
  check_size();
}

void SseParser::dispatch(const EventCallback& on_event) {
  pending_fields_ = false;
  if (data_.empty()) {  // spec: no data, no event
    event_type_.clear();
    return;
  }
  SseEvent event;
  event.event = event_type_.empty() ? "message" : event_type_;
  data_.pop_back();  // the '\n' after the last data line
  event.data = std::move(data_);
  event.id = last_id_;
  event.retry = retry_;
  data_.clear();
  event_type_.clear();
  retry_.reset();
  on_event(event);
}

void SseParser::check_size() const {
  const std::size_t size = line_.size() + data_.size() + event_type_.size() + last_id_.size();
  if (size > max_event_bytes_) {
    throw Error(ErrorCode::upstream,
                fmt::format("SSE event or line exceeds {} bytes", max_event_bytes_));
  }
}

bool SseParser::finish() {
  if (at_start_ && !bom_buffer_.empty()) {
    at_start_ = false;  // fewer than 3 bytes in all: they were content
    std::string held = std::move(bom_buffer_);
    bom_buffer_.clear();
    feed_lines(held, [](const SseEvent&) {});
  }
  const bool mid_event = !line_.empty() || pending_fields_;
  line_.clear();
  data_.clear();
  event_type_.clear();
  retry_.reset();
  pending_fields_ = false;
  skip_lf_ = false;
  return mid_event;
}

}  // namespace cnai::clients
