// StopMatcher against a direct reference (the full text cut before the earliest
// stop): every splitting of the text into 1..3 pushes and byte-by-byte at char
// boundaries, overlapping and unicode stops, hold-back, flush and errors.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/text/stop_matcher.hpp"

using cnai::StopMatcher;

namespace {

std::string reference(const std::string& text, const std::vector<std::string>& stops) {
  std::size_t cut = text.size();
  for (const auto& s : stops) cut = std::min(cut, text.find(s));
  return text.substr(0, cut);
}

bool has_stop(const std::string& text, const std::vector<std::string>& stops) {
  for (const auto& s : stops) {
    if (text.find(s) != std::string::npos) return true;
  }
  return false;
}

bool is_boundary(const std::string& s, std::size_t i) {
  return i == s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
}

std::vector<std::size_t> boundaries(const std::string& s) {
  std::vector<std::size_t> b;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (is_boundary(s, i)) b.push_back(i);
  }
  return b;
}

// Every emit must end on a character boundary of the full text.
struct Run {
  std::string out;
  bool stopped = false;
  bool split_char = false;
};

Run feed(const std::vector<std::string>& stops, const std::string& text, const std::vector<std::size_t>& cuts) {
  StopMatcher m(stops);
  Run run;
  std::size_t begin = 0;
  auto push = [&](std::size_t end) {
    const auto r = m.push(std::string_view(text).substr(begin, end - begin));
    if (run.stopped && !r.emit.empty()) run.split_char = true;  // nothing after a stop
    run.out += r.emit;
    run.split_char |= !is_boundary(text, run.out.size());
    run.stopped |= r.stopped;
    begin = end;
  };
  for (std::size_t c : cuts) push(c);
  push(text.size());
  run.out += m.flush();
  run.stopped = m.stopped();
  return run;
}

void check_all_splittings(const std::vector<std::string>& stops, const std::string& text) {
  CAPTURE(text);
  const std::string expected = reference(text, stops);
  const bool expect_stop = has_stop(text, stops);
  const auto b = boundaries(text);
  for (std::size_t i = 0; i < b.size(); ++i) {
    for (std::size_t j = i; j < b.size(); ++j) {
      const Run run = feed(stops, text, {b[i], b[j]});
      CAPTURE(b[i]);
      CAPTURE(b[j]);
      REQUIRE(run.out == expected);
      REQUIRE(run.stopped == expect_stop);
      REQUIRE_FALSE(run.split_char);
    }
  }
  // One character per push.
  const Run bytewise = feed(stops, text, b);
  REQUIRE(bytewise.out == expected);
  REQUIRE(bytewise.stopped == expect_stop);
  REQUIRE_FALSE(bytewise.split_char);
}

}  // namespace

TEST_CASE("a single stop split at every token boundary") {
  const std::vector<std::string> stops{"STOP"};
  check_all_splittings(stops, "abc STOP def");
  check_all_splittings(stops, "STOPabc");             // at the very start
  check_all_splittings(stops, "abcSTOP");             // at the very end
  check_all_splittings(stops, "ST STO STOP STOP");    // false starts before it
  check_all_splittings(stops, "abc ST");              // never occurs: flush releases "ST"
  check_all_splittings(stops, "SSTOSTOPP");
}

TEST_CASE("overlapping and multiple stops: the earliest start wins") {
  check_all_splittings({"ab", "b"}, "xaby");
  check_all_splittings({"ab", "b"}, "xbay");
  check_all_splittings({"ab", "b"}, "xa");
  check_all_splittings({"abcd", "c"}, "abce");   // "c" ends it at 2
  check_all_splittings({"abcd", "c"}, "xabcdy");  // "abcd" starts before "c"
  check_all_splittings({"abcd", "c"}, "abc");     // flush decides on "c"
  check_all_splittings({"aab", "ab"}, "aaab");
  check_all_splittings({"\n\n", "User:", "</s>"}, "Hello.\nUser: hi\n\nmore");
  check_all_splittings({"aaa"}, "aaaaaa");
}

TEST_CASE("unicode stop strings never split a character") {
  check_all_splittings({"→w"}, "héllo →wörld");
  check_all_splittings({"ö"}, "héllo →wörld");
  check_all_splittings({"日本"}, "こんにちは日本語");
  check_all_splittings({"😀!"}, "a😀b😀!c");
  check_all_splittings({"é"}, "cafe cafè café");
}

TEST_CASE("hold back only what could still start a stop") {
  StopMatcher m({"hello", "<|im_end|>"});
  auto r = m.push("say hel");
  CHECK(r.emit == "say ");
  CHECK_FALSE(r.stopped);
  r = m.push("p me");
  CHECK(r.emit == "help me");
  r = m.push("<|im");
  CHECK(r.emit.empty());
  r = m.push("_");
  CHECK(r.emit.empty());
  r = m.push("en");
  CHECK(r.emit.empty());
  r = m.push("d|> trailing");
  CHECK(r.emit.empty());
  CHECK(r.stopped);
  CHECK(m.stopped());
  CHECK(m.push("more").emit.empty());
  CHECK(m.flush().empty());
  m.reset();
  CHECK_FALSE(m.stopped());
  CHECK(m.push("ab<|").emit == "ab");
  CHECK(m.flush() == "<|");
  CHECK_FALSE(m.stopped());
}

TEST_CASE("a stop spanning many pushes") {
  const std::string text = "The answer is 42.<|im_end|>ignored";
  StopMatcher m({"<|im_end|>"});
  std::string out;
  bool stopped = false;
  for (char c : text) {
    const auto r = m.push(std::string(1, c));
    out += r.emit;
    stopped |= r.stopped;
  }
  CHECK(stopped);
  CHECK(out == "The answer is 42.");
}

TEST_CASE("no stops: text passes straight through") {
  StopMatcher m({});
  CHECK(m.push("abc").emit == "abc");
  CHECK(m.push("").emit.empty());
  CHECK(m.flush().empty());
  CHECK_FALSE(m.stopped());
}

TEST_CASE("invalid stop strings are rejected") {
  CHECK_THROWS_AS(StopMatcher({"ok", ""}), cnai::Error);
  CHECK_THROWS_AS(StopMatcher({"\xC3"}), cnai::Error);
  try {
    StopMatcher m({""});
    FAIL("expected an error");
  } catch (const cnai::Error& e) {
    CHECK(e.code() == cnai::ErrorCode::invalid_argument);
  }
}

TEST_CASE("random stops and random chunking agree with the reference") {
  const std::vector<std::string> alphabet{"a", "b", "c", "é", "→"};
  std::mt19937 rng(99);
  const auto random_text = [&](std::size_t chars) {
    std::string s;
    for (std::size_t i = 0; i < chars; ++i) s += alphabet[rng() % alphabet.size()];
    return s;
  };
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::string> stops(rng() % 3 + 1);
    for (auto& s : stops) s = random_text(rng() % 4 + 1);
    const std::string text = random_text(rng() % 30);
    const auto b = boundaries(text);
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i + 1 < b.size(); ++i) {
      if (rng() % 3 == 0) cuts.push_back(b[i]);
    }
    CAPTURE(text);
    const Run run = feed(stops, text, cuts);
    REQUIRE(run.out == reference(text, stops));
    REQUIRE(run.stopped == has_stop(text, stops));
    REQUIRE_FALSE(run.split_char);
  }
}
