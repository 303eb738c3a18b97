// ConfigNode: a YAML or JSON document as one tree of maps, sequences and
// scalars, each node with its line and column, so every problem in a config
// can name where it is. yaml-cpp reads YAML, Boost.JSON's parser JSON.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cnai::router {

struct ConfigEntry;  // a map's key and value (a std::pair would need ConfigNode complete: clang rejects it)

struct ConfigNode {
  enum class Kind { null, scalar, sequence, map };
  Kind kind = Kind::null;
  std::string scalar;
  bool quoted = false;  // a quoted string in the source: never read as a number or bool
  std::vector<ConfigEntry> map;  // document order
  std::vector<int> key_lines;                           // line of each map key
  std::vector<ConfigNode> sequence;
  int line = 0;  // 1-based
  int column = 0;

  const ConfigNode* find(std::string_view key) const;
  bool is_map() const noexcept { return kind == Kind::map; }
  bool is_sequence() const noexcept { return kind == Kind::sequence; }
  bool is_scalar() const noexcept { return kind == Kind::scalar; }
};

struct ConfigEntry {
  ConfigEntry() = default;
  ConfigEntry(std::string key, ConfigNode value) : first(std::move(key)), second(std::move(value)) {}
  std::string first;
  ConfigNode second;
};

/// A syntax error: where, and what.
struct ConfigSyntaxError {
  int line = 0;
  int column = 0;
  std::string message;
};

/// Parses `text`: JSON when its first non-blank character is '{' or '[', else
/// YAML. Returns false and fills `error` on a syntax error (duplicate keys too).
bool parse_config_document(const std::string& text, ConfigNode& out, ConfigSyntaxError& error);

}  // namespace cnai::router
