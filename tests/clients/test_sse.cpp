// SseParser against hand-written expectations, with every stream fed whole,
// split at every point into two pieces, and one byte at a time.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "clients/sse_parser.hpp"
#include "cnai/core/error.hpp"

using cnai::clients::SseEvent;
using cnai::clients::SseParser;

namespace {

struct Parsed {
  std::vector<SseEvent> events;
  bool mid_event = false;
};

Parsed parse_pieces(const std::vector<std::string_view>& pieces) {
  Parsed out;
  SseParser parser;
  for (auto piece : pieces) parser.feed(piece, [&](const SseEvent& e) { out.events.push_back(e); });
  out.mid_event = parser.finish();
  return out;
}

void check_same(const Parsed& a, const Parsed& b) {
  REQUIRE(a.events.size() == b.events.size());
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    CHECK(a.events[i].event == b.events[i].event);
    CHECK(a.events[i].data == b.events[i].data);
    CHECK(a.events[i].id == b.events[i].id);
    CHECK(a.events[i].retry == b.events[i].retry);
  }
  CHECK(a.mid_event == b.mid_event);
}

// Parses `stream` whole, then in every 2-piece split and byte by byte, and
// requires identical results each time.
Parsed parse_all_ways(std::string_view stream) {
  const Parsed whole = parse_pieces({stream});
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    CAPTURE(cut);
    check_same(whole, parse_pieces({stream.substr(0, cut), stream.substr(cut)}));
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < stream.size(); ++i) bytes.push_back(stream.substr(i, 1));
  check_same(whole, parse_pieces(bytes));
  return whole;
}

std::string with_line_ends(std::string_view lf_text, std::string_view eol) {
  std::string out;
  for (char c : lf_text) {
    if (c == '\n') {
      out += eol;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("OpenAI-style stream with LF, CR and CRLF line ends, split anywhere") {
  const std::string base =
      "data: {\"id\":\"1\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
      ": keep-alive comment\n\n"
      "data: {\"id\":\"1\",\"choices\":[{\"delta\":{\"content\":\" there\"}}]}\n\n"
      "data: [DONE]\n\n";
  for (std::string_view eol : {"\n", "\r", "\r\n"}) {
    CAPTURE(eol.size());
    const Parsed parsed = parse_all_ways(with_line_ends(base, eol));
    REQUIRE(parsed.events.size() == 3);
    CHECK(parsed.events[0].event == "message");
    CHECK(parsed.events[0].data == R"({"id":"1","choices":[{"delta":{"content":"Hi"}}]})");
    CHECK(parsed.events[1].data == R"({"id":"1","choices":[{"delta":{"content":" there"}}]})");
    CHECK(parsed.events[2].data == "[DONE]");
    CHECK_FALSE(parsed.mid_event);
  }
}

TEST_CASE("Anthropic-style named events, multi-line data, ids and retry") {
  const Parsed parsed = parse_all_ways(
      "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
      "event: content_block_delta\nid: 7\nretry: 1500\ndata: line one\ndata:line two\ndata:  indented\n\n"
      "event: ping\n\n"  // no data: not dispatched
      "data: after\n\n");
  REQUIRE(parsed.events.size() == 3);
  CHECK(parsed.events[0].event == "message_start");
  CHECK(parsed.events[0].id.empty());
  CHECK(parsed.events[1].event == "content_block_delta");
  CHECK(parsed.events[1].data == "line one\nline two\n indented");
  CHECK(parsed.events[1].id == "7");
  CHECK(parsed.events[1].retry == 1500);
  CHECK(parsed.events[2].event == "message");  // the type does not leak into the next event
  CHECK(parsed.events[2].id == "7");           // the last event id persists
  CHECK_FALSE(parsed.events[2].retry.has_value());
}

TEST_CASE("Field edge cases: no colon, empty data, unknown fields, bad retry") {
  const Parsed parsed = parse_all_ways(
      "data\n\n"                       // field with no colon: empty data line
      "data:\ndata:\n\n"               // two empty lines joined: "\n"
      "foo: bar\nretry: 12x\ndata: x\n\n"
      ":only a comment\n\n");
  REQUIRE(parsed.events.size() == 3);
  CHECK(parsed.events[0].data.empty());
  CHECK(parsed.events[1].data == "\n");
  CHECK(parsed.events[2].data == "x");
  CHECK_FALSE(parsed.events[2].retry.has_value());
}

TEST_CASE("UTF-8 BOM is stripped once and multibyte text survives any split") {
  const std::string stream = "\xEF\xBB\xBF" "data: gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80\n\n"
                             "data: \xEF\xBB\xBFkept\n\n";
  const Parsed parsed = parse_all_ways(stream);
  REQUIRE(parsed.events.size() == 2);
  CHECK(parsed.events[0].data == "gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80");
  CHECK(parsed.events[1].data == "\xEF\xBB\xBFkept");  // only a leading BOM is stripped
}

TEST_CASE("finish() reports a stream that ended mid-event and drops that event") {
  Parsed parsed = parse_all_ways("data: complete\n\ndata: partial\n");
  REQUIRE(parsed.events.size() == 1);
  CHECK(parsed.mid_event);
  parsed = parse_all_ways("data: complete\n\ndata: no newline");
  REQUIRE(parsed.events.size() == 1);
  CHECK(parsed.mid_event);
  parsed = parse_all_ways("data: complete\n\n: trailing comment\n");
  CHECK_FALSE(parsed.mid_event);
  CHECK_FALSE(parse_all_ways("").mid_event);
  CHECK(parse_all_ways("\xEF").mid_event);  // one byte, not a BOM: content
}

TEST_CASE("A CRLF split across feeds counts as one line end") {
  SseParser parser;
  std::vector<std::string> data;
  auto on_event = [&](const SseEvent& e) { data.push_back(e.data); };
  parser.feed("data: a\r", on_event);
  parser.feed("\n", on_event);  // not a second (blank) line: no dispatch yet
  CHECK(data.empty());
  parser.feed("\r", on_event);
  parser.feed("\ndata: b\r\n\r\n", on_event);
  CHECK(data == std::vector<std::string>{"a", "b"});
}

TEST_CASE("An oversized line or event is an upstream error") {
  SseParser parser(64);
  auto ignore = [](const SseEvent&) {};
  CHECK_THROWS_AS(parser.feed(std::string(100, 'x'), ignore), cnai::Error);

  SseParser events(64);
  std::string many;
  for (int i = 0; i < 10; ++i) many += "data: 0123456789\n";
  try {
    events.feed(many, ignore);
    FAIL("expected an error");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == cnai::ErrorCode::upstream);
  }
}
