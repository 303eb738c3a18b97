// Typed, path-aware access to Boost.JSON objects parsed from untrusted text.
// Every mismatch throws Error(upstream) naming the field ("choices[0].index:
// expected integer"), so a hostile body gives a clear error, never a crash.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cnai::json {

namespace bj = boost::json;

/// Parses `text`; malformed JSON -> Error(upstream, "<context>: malformed JSON ...").
bj::value parse(std::string_view text, std::string_view context);

/// Serializes a value to compact JSON text.
std::string dump(const bj::value& v);

/// A JSON object plus where it sits in the document, for error messages.
class Fields {
 public:
  Fields(const bj::object& object, std::string path, std::string_view context);

  /// The root of a document; throws if it is not an object.
  static Fields root(const bj::value& v, std::string_view context);

  bool has(std::string_view key) const;  // present and not null
  std::string str(std::string_view key, std::string fallback = {}) const;
  std::optional<std::string> opt_str(std::string_view key) const;
  std::int64_t int64(std::string_view key, std::int64_t fallback = 0) const;
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
  const bj::object& object_ref() const { return *object_; }
  std::string_view context() const { return context_; }

 private:
  const bj::object* object_;
  std::string path_;
  std::string context_;
};

/// Number -> double for float vectors; throws naming `path` otherwise.
double to_double(const bj::value& v, const std::string& path, std::string_view context);

}  // namespace cnai::json
