// Typed, path-aware access to Boost.JSON objects parsed from untrusted text.
// Every mismatch throws an Error naming the field ("choices[0].index:
// expected integer"), so a hostile body gives a clear error, never a crash:
// Error(upstream) for what a server sent, Error(invalid_argument) for what a
// client sent (the `code` of the document).
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cnai/core/error.hpp"

namespace cnai::json {

namespace bj = boost::json;

/// Larger than any real token count; sums of a few such counts fit in int64.
inline constexpr std::int64_t kMaxTokenCount = std::int64_t{1} << 50;

/// Parses `text`; malformed JSON -> Error(code, "<context>: malformed JSON ...").
bj::value parse(std::string_view text, std::string_view context, ErrorCode code = ErrorCode::upstream);

/// Serializes a value to compact JSON text.
std::string dump(const bj::value& v);

/// A JSON object plus where it sits in the document, for error messages.
class Fields {
 public:
  Fields(const bj::object& object, std::string path, std::string_view context,
         ErrorCode code = ErrorCode::upstream);

  /// The root of a document; throws if it is not an object.
  static Fields root(const bj::value& v, std::string_view context, ErrorCode code = ErrorCode::upstream);

  bool has(std::string_view key) const;  // present and not null
  std::string str(std::string_view key, std::string fallback = {}) const;
  std::optional<std::string> opt_str(std::string_view key) const;
  std::int64_t int64(std::string_view key, std::int64_t fallback = 0) const;
  /// An integer in [lo, hi] (checked before any narrowing); `fallback` when absent.
  std::int64_t int_in(std::string_view key, std::int64_t lo, std::int64_t hi, std::int64_t fallback = 0) const;
  /// A token count: an integer in [0, kMaxTokenCount], so sums of counts cannot overflow.
  std::int64_t count(std::string_view key, std::int64_t fallback = 0) const;
  std::optional<double> opt_double(std::string_view key) const;
  std::optional<bool> opt_bool(std::string_view key) const;
  /// Null when missing or null; throws when present with another type.
  const bj::array* array(std::string_view key) const;
  std::optional<Fields> object(std::string_view key) const;
  const bj::value* raw(std::string_view key) const;  // null when missing/null

  /// Element `i` of an array member, which must be an object.
  Fields element(std::string_view key, const bj::array& a, std::size_t i) const;

  std::string path_of(std::string_view key) const;
  [[noreturn]] void fail(std::string_view key, std::string_view expected) const;
  /// Like fail(), with another code (e.g. unsupported for a valid but unserved field).
  [[noreturn]] void fail(std::string_view key, std::string_view expected, ErrorCode code) const;
  const bj::object& object_ref() const { return *object_; }
  std::string_view context() const { return context_; }
  ErrorCode code() const { return code_; }

 private:
  const bj::object* object_;
  std::string path_;
  std::string context_;
  ErrorCode code_;
};

/// Number -> double for float vectors; throws naming `path` otherwise.
double to_double(const bj::value& v, const std::string& path, std::string_view context,
                 ErrorCode code = ErrorCode::upstream);

}  // namespace cnai::json
