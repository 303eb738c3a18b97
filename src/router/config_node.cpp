#include "router/config_node.hpp"

#include <yaml-cpp/yaml.h>

#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <set>

namespace cnai::router {

const ConfigNode* ConfigNode::find(std::string_view key) const {
  for (const auto& [k, v] : map)
    if (k == key) return &v;
  return nullptr;
}

namespace {

constexpr int kMaxDepth = 64;

// ---- YAML -------------------------------------------------------------------

struct DuplicateKey {
  int line, column;
  std::string key;
};

constexpr std::size_t kMaxNodes = 200000;  // aliases may repeat a subtree: bound the expansion

void from_yaml(const YAML::Node& n, ConfigNode& out, int depth, std::size_t& nodes) {
  if (++nodes > kMaxNodes) throw YAML::ParserException(n.Mark(), "more than 200000 values (aliases expanding?)");
  const YAML::Mark m = n.Mark();
  out.line = m.line >= 0 ? m.line + 1 : 0;
  out.column = m.column >= 0 ? m.column + 1 : 0;
  if (depth > kMaxDepth) throw YAML::ParserException(n.Mark(), "nested deeper than 64 levels");
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: out.kind = ConfigNode::Kind::null; break;
    case YAML::NodeType::Scalar:
      out.kind = ConfigNode::Kind::scalar;
      out.scalar = n.Scalar();
      out.quoted = n.Tag() == "!";  // yaml-cpp tags quoted (non-plain) scalars "!"
      break;
    case YAML::NodeType::Sequence:
      out.kind = ConfigNode::Kind::sequence;
      for (const auto& item : n) {
        out.sequence.emplace_back();
        from_yaml(item, out.sequence.back(), depth + 1, nodes);
      }
      break;
    case YAML::NodeType::Map: {
      out.kind = ConfigNode::Kind::map;
      std::set<std::string> seen;
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) throw YAML::ParserException(kv.first.Mark(), "a map key must be a plain value");
        const std::string key = kv.first.Scalar();
        if (!seen.insert(key).second) throw DuplicateKey{kv.first.Mark().line + 1, kv.first.Mark().column + 1, key};
        out.map.emplace_back(key, ConfigNode{});
        out.key_lines.push_back(kv.first.Mark().line + 1);
        from_yaml(kv.second, out.map.back().second, depth + 1, nodes);
        // A null value has no mark of its own: place it at its key.
        if (out.map.back().second.line == 0) out.map.back().second.line = kv.first.Mark().line + 1;
      }
      break;
    }
  }
}

bool parse_yaml(const std::string& text, ConfigNode& out, ConfigSyntaxError& error) {
  // yaml-cpp parses flow collections recursively: refuse absurd nesting
  // before it sees it (a config never nests brackets 64 deep).
  int depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '[' || c == '{') ++depth;
    else if ((c == ']' || c == '}') && depth > 0) --depth;
    if (depth > kMaxDepth) {
      error.line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(i), '\n'));
      error.message = "brackets nested deeper than 64 levels";
      return false;
    }
  }
  try {
    YAML::Node doc = YAML::Load(text);
    std::size_t nodes = 0;
    from_yaml(doc, out, 0, nodes);
    return true;
  } catch (const YAML::Exception& e) {
    error.line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
    error.column = e.mark.column >= 0 ? e.mark.column + 1 : 0;
    error.message = e.msg.empty() ? "YAML syntax error" : e.msg;
  } catch (const DuplicateKey& d) {
    error.line = d.line;
    error.column = d.column;
    error.message = "duplicate key '" + d.key + "'";
  }
  return false;
}

// ---- JSON: Boost.JSON's basic_parser, positions from the pieces it hands over --

class JsonBuilder {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  JsonBuilder(const char* base, std::size_t size) : base_(base), size_(size) {}

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_array_begin(boost::system::error_code& ec) { return open(ConfigNode::Kind::sequence, ec); }
  bool on_array_end(std::size_t, boost::system::error_code&) { return close(); }
  bool on_object_begin(boost::system::error_code& ec) { return open(ConfigNode::Kind::map, ec); }
  bool on_object_end(std::size_t, boost::system::error_code&) { return close(); }
  bool on_string_part(boost::json::string_view s, std::size_t, boost::system::error_code&) {
    mark(s);
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_string(boost::json::string_view s, std::size_t, boost::system::error_code& ec) {
    mark(s);
    text_.append(s.data(), s.size());
    ConfigNode n = scalar(std::move(text_), true);
    text_.clear();
    return add(std::move(n), ec);
  }
  bool on_key_part(boost::json::string_view s, std::size_t, boost::system::error_code&) {
    mark(s);
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t, boost::system::error_code& ec) {
    mark(s);
    key_.append(s.data(), s.size());
    ConfigNode& m = stack_.back();
    for (const auto& kv : m.map) {
      if (kv.first == key_) {
        duplicate_ = "duplicate key '" + key_ + "'";
        ec = boost::json::error::syntax;
        return false;
      }
    }
    pending_key_ = std::move(key_);
    pending_key_line_ = line_;
    key_.clear();
    return true;
  }
  bool on_number_part(boost::json::string_view s, boost::system::error_code&) {
    mark(s);
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t, boost::json::string_view s, boost::system::error_code& ec) { return number(s, ec); }
  bool on_uint64(std::uint64_t, boost::json::string_view s, boost::system::error_code& ec) { return number(s, ec); }
  bool on_double(double, boost::json::string_view s, boost::system::error_code& ec) { return number(s, ec); }
  bool on_bool(bool b, boost::system::error_code& ec) { return add(scalar(b ? "true" : "false", false), ec); }
  bool on_null(boost::system::error_code& ec) {
    ConfigNode n;
    n.line = line_;
    n.column = column_;
    return add(std::move(n), ec);
  }
  bool on_comment_part(boost::json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::system::error_code&) { return true; }

  ConfigNode root;
  std::string duplicate_;
  int line() const { return line_; }

 private:
  // Moves the known position to where `s` starts, when it lies in the input.
  void mark(boost::json::string_view s) {
    if (s.data() < base_ || s.data() > base_ + size_) return;
    const std::size_t at = static_cast<std::size_t>(s.data() - base_);
    for (; scanned_ < at; ++scanned_) {
      if (base_[scanned_] == '\n') {
        ++line_;
        column_ = 1;
      } else {
        ++column_;
      }
    }
  }
  ConfigNode scalar(std::string text, bool quoted) const {
    ConfigNode n;
    n.kind = ConfigNode::Kind::scalar;
    n.scalar = std::move(text);
    n.quoted = quoted;
    n.line = line_;
    n.column = column_;
    return n;
  }
  bool number(boost::json::string_view s, boost::system::error_code& ec) {
    mark(s);
    text_.append(s.data(), s.size());
    ConfigNode n = scalar(std::move(text_), false);
    text_.clear();
    return add(std::move(n), ec);
  }
  bool open(ConfigNode::Kind kind, boost::system::error_code& ec) {
    if (stack_.size() > static_cast<std::size_t>(kMaxDepth)) {
      ec = boost::json::error::too_deep;
      return false;
    }
    ConfigNode n;
    n.kind = kind;
    n.line = stack_.empty() || pending_key_line_ == 0 ? line_ : pending_key_line_;
    n.column = column_;
    keys_.push_back(std::move(pending_key_));
    key_lines_.push_back(pending_key_line_);
    pending_key_.clear();
    pending_key_line_ = 0;
    stack_.push_back(std::move(n));
    return true;
  }
  bool close() {
    ConfigNode n = std::move(stack_.back());
    stack_.pop_back();
    pending_key_ = std::move(keys_.back());
    pending_key_line_ = key_lines_.back();
    keys_.pop_back();
    key_lines_.pop_back();
    boost::system::error_code ec;
    return add(std::move(n), ec);
  }
  bool add(ConfigNode n, boost::system::error_code&) {
    if (stack_.empty()) {
      root = std::move(n);
      return true;
    }
    ConfigNode& parent = stack_.back();
    if (parent.kind == ConfigNode::Kind::map) {
      if (n.kind != ConfigNode::Kind::map && n.kind != ConfigNode::Kind::sequence && pending_key_line_ > 0)
        n.line = std::max(n.line, pending_key_line_);
      parent.key_lines.push_back(pending_key_line_);
      parent.map.emplace_back(std::move(pending_key_), std::move(n));
      pending_key_.clear();
      pending_key_line_ = 0;
    } else {
      parent.sequence.push_back(std::move(n));
    }
    return true;
  }

  const char* base_;
  std::size_t size_;
  std::size_t scanned_ = 0;
  int line_ = 1, column_ = 1;
  std::vector<ConfigNode> stack_;
  std::vector<std::string> keys_;
  std::vector<int> key_lines_;
  std::string key_, text_, pending_key_;
  int pending_key_line_ = 0;
};

bool parse_json(const std::string& text, ConfigNode& out, ConfigSyntaxError& error) {
  boost::json::parse_options opt;
  opt.allow_comments = true;
  opt.allow_trailing_commas = true;
  boost::json::basic_parser<JsonBuilder> p(opt, text.data(), text.size());
  boost::system::error_code ec;
  const std::size_t used = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && used < text.size()) ec = boost::json::error::extra_data;
  if (ec) {
    int line = 1, column = 1;
    for (std::size_t i = 0; i < std::min(used, text.size()); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    error.line = line;
    error.column = column;
    error.message = p.handler().duplicate_.empty() ? "JSON syntax error: " + ec.message() : p.handler().duplicate_;
    return false;
  }
  out = std::move(p.handler().root);
  return true;
}

}  // namespace

bool parse_config_document(const std::string& text, ConfigNode& out, ConfigSyntaxError& error) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (text[first] == '{' || text[first] == '[')) return parse_json(text, out, error);
  return parse_yaml(text, out, error);
}

}  // namespace cnai::router
