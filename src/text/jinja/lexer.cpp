// The Jinja lexer: mirrors jinja2.lexer.Lexer.tokeniter for the default
// delimiters with trim_blocks and lstrip_blocks on.
#include "text/jinja/lexer.hpp"

#include <algorithm>
#include <cstring>

#include "cnai/core/error.hpp"
#include "text/jinja/value.hpp"
#include "core/utf8.hpp"

namespace cnai::text::jinja {

namespace {

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Python's str.rstrip() on UTF-8 text.
std::string rstrip_all(std::string_view s) { return py_strip(s, false, true); }

// True when `s` is non-empty and only whitespace (re `\s+` fullmatch).
bool all_space(std::string_view s) { return !s.empty() && py_strip(s, true, false).empty(); }

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(normalize(source)) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      const std::size_t start = find_tag(pos_);
      if (start == std::string::npos) {
        emit_text(src_.substr(pos_), pos_);
        break;
      }
      lex_tag(start);
    }
    out_.push_back(Token{Tok::eof, "", line_of(src_.size()), col_of(src_.size())});
    return std::move(out_);
  }

 private:
  static std::string normalize(std::string_view source) {
    std::string s;
    s.reserve(source.size());
    for (std::size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        s += '\n';
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        s += source[i];
      }
    }
    if (!s.empty() && s.back() == '\n') s.pop_back();  // keep_trailing_newline=False
    return s;
  }

  std::size_t line_index(std::size_t off) const {
    return static_cast<std::size_t>(std::upper_bound(line_starts_.begin(), line_starts_.end(), off) - line_starts_.begin()) - 1;
  }
  int line_of(std::size_t off) const { return static_cast<int>(line_index(off)) + 1; }
  int col_of(std::size_t off) const { return static_cast<int>(off - line_starts_[line_index(off)]) + 1; }
  [[noreturn]] void fail(std::size_t off, const std::string& what) const {
    throw Error(ErrorCode::model_format, "chat template syntax error at " + std::to_string(line_of(off)) + ":" +
                                             std::to_string(col_of(off)) + ": " + what);
  }

  std::size_t find_tag(std::size_t from) const {
    for (std::size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return std::string::npos;
  }

  void emit_text(std::string_view text, std::size_t off) {
    if (!text.empty()) out_.push_back(Token{Tok::text, std::string(text), line_of(off), col_of(off)});
  }

  // Applies `-` (strip all) or lstrip_blocks to the text before a tag.
  std::string strip_before(std::string_view text, char sign, bool is_variable) const {
    if (sign == '-') return rstrip_all(text);
    if (sign != '+' && !is_variable) {
      const auto nl = text.rfind('\n');
      const std::size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
      if ((l_pos > 0 || line_starting_) && all_space(text.substr(l_pos))) return std::string(text.substr(0, l_pos));
    }
    return std::string(text);
  }

  // Skips what follows a block/comment end: `-` strips all whitespace, plain
  // ends drop one newline (trim_blocks), `+` keeps everything.
  void after_end(char sign, bool trim) {
    if (sign == '-') {
      const std::string_view rest = std::string_view(src_).substr(pos_);
      pos_ += rest.size() - py_strip(rest, true, false).size();
    } else if (sign != '+' && trim && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
    }
    line_starting_ = pos_ > 0 && src_[pos_ - 1] == '\n';
  }

  void lex_tag(std::size_t start) {
    const char kind = src_[start + 1];
    char sign = start + 2 < src_.size() ? src_[start + 2] : '\0';
    if (sign != '-' && sign != '+') sign = '\0';
    const std::string_view text = std::string_view(src_).substr(pos_, start - pos_);
    if (kind == '%' && lex_raw(start, text, sign)) return;
    emit_text(strip_before(text, sign, kind == '{'), pos_);
    pos_ = start + 2 + (sign != '\0' ? 1 : 0);
    if (kind == '#') {
      lex_comment(start);
      return;
    }
    out_.push_back(Token{kind == '{' ? Tok::var_begin : Tok::block_begin, "", line_of(start), col_of(start)});
    lex_expression(kind == '{');
  }

  void lex_comment(std::size_t start) {
    const auto end = src_.find("#}", pos_);
    if (end == std::string::npos) fail(start, "missing end of comment tag '#}'");
    char sign = end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : '\0';
    pos_ = end + 2;
    after_end(sign, true);
  }

  // `{% raw %}...{% endraw %}`: the body is text. Returns false when the tag is not raw.
  bool lex_raw(std::size_t start, std::string_view text, char sign) {
    std::size_t p = start + 2 + (sign != '\0' ? 1 : 0);
    while (p < src_.size() && is_ascii_space(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0) return false;
    p += 3;
    while (p < src_.size() && is_ascii_space(src_[p])) ++p;
    char end_sign = '\0';
    if (src_.compare(p, 3, "-%}") == 0) {
      end_sign = '-';
      p += 3;
    } else if (src_.compare(p, 2, "%}") == 0) {
      p += 2;
    } else {
      return false;
    }
    emit_text(strip_before(text, sign, false), pos_);
    pos_ = p;
    after_end(end_sign, false);
    for (std::size_t q = find_tag(pos_); q != std::string::npos; q = find_tag(q + 1)) {
      if (src_[q + 1] != '%') continue;
      std::size_t r = q + 2;
      char s2 = src_[r] == '-' || src_[r] == '+' ? src_[r++] : '\0';
      while (r < src_.size() && is_ascii_space(src_[r])) ++r;
      if (src_.compare(r, 6, "endraw") != 0) continue;
      r += 6;
      while (r < src_.size() && is_ascii_space(src_[r])) ++r;
      char s3 = src_[r] == '-' || src_[r] == '+' ? src_[r++] : '\0';
      if (src_.compare(r, 2, "%}") != 0) continue;
      emit_text(strip_before(std::string_view(src_).substr(pos_, q - pos_), s2, false), pos_);
      pos_ = r + 2;
      after_end(s3, true);
      return true;
    }
    fail(start, "missing end of raw directive");
  }

  bool at_end(bool variable, std::size_t depth) {
    if (depth != 0) return false;
    const char* close = variable ? "}}" : "%}";
    if ((src_[pos_] == '-' || src_[pos_] == '+') && src_.compare(pos_ + 1, 2, close) == 0) {
      if (variable && src_[pos_] == '+') return false;
      const char sign = src_[pos_];
      out_.push_back(Token{variable ? Tok::var_end : Tok::block_end, "", line_of(pos_), col_of(pos_)});
      pos_ += 3;
      after_end(sign, !variable);
      return true;
    }
    if (src_.compare(pos_, 2, close) == 0) {
      out_.push_back(Token{variable ? Tok::var_end : Tok::block_end, "", line_of(pos_), col_of(pos_)});
      pos_ += 2;
      after_end('\0', !variable);
      return true;
    }
    return false;
  }

  void lex_expression(bool variable) {
    std::vector<char> brackets;
    while (true) {
      while (pos_ < src_.size() && is_ascii_space(src_[pos_])) ++pos_;
      if (pos_ >= src_.size()) fail(pos_, std::string("unexpected end of template, expected '") + (variable ? "}}" : "%}") + "'");
      if (at_end(variable, brackets.size())) return;
      const std::size_t tok_start = pos_;
      const char c = src_[pos_];
      Token t{Tok::op, "", line_of(tok_start), col_of(tok_start)};
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        while (pos_ < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) ++pos_;
        t.type = Tok::name;
        t.text = src_.substr(tok_start, pos_ - tok_start);
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        lex_number(t);
      } else if (c == '\'' || c == '"') {
        t.type = Tok::string;
        t.text = lex_string(c);
      } else {
        static const char* const two[] = {"//", "**", "==", "!=", ">=", "<="};
        bool matched = false;
        for (const char* op : two) {
          if (src_.compare(pos_, 2, op) == 0) {
            t.text = op;
            pos_ += 2;
            matched = true;
            break;
          }
        }
        if (!matched) {
          if (std::strchr("+-*/%~<>=()[]{},.:|;", c) == nullptr) fail(pos_, std::string("unexpected character '") + c + "'");
          t.text = std::string(1, c);
          ++pos_;
          if (c == '(' || c == '[' || c == '{') brackets.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
          if (c == ')' || c == ']' || c == '}') {
            if (brackets.empty()) fail(tok_start, std::string("unexpected '") + c + "'");
            if (brackets.back() != c) fail(tok_start, std::string("unexpected '") + c + "', expected '" + brackets.back() + "'");
            brackets.pop_back();
          }
        }
      }
      out_.push_back(std::move(t));
    }
  }

  void lex_number(Token& t) {
    const std::size_t start = pos_;
    auto digits = [&] {
      while (pos_ < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) ++pos_;
    };
    digits();
    bool is_float = false;
    if (pos_ + 1 < src_.size() && src_[pos_] == '.' && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))) {
      ++pos_;
      digits();
      is_float = true;
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      std::size_t p = pos_ + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && std::isdigit(static_cast<unsigned char>(src_[p]))) {
        pos_ = p;
        digits();
        is_float = true;
      }
    }
    t.type = is_float ? Tok::floating : Tok::integer;
    for (std::size_t k = start; k < pos_; ++k) {
      if (src_[k] != '_') t.text += src_[k];
    }
  }

  static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // A quoted string with Python "unicode-escape" decoding of its escapes.
  std::string lex_string(char quote) {
    const std::size_t start = pos_++;
    std::string out;
    while (true) {
      if (pos_ >= src_.size()) fail(start, "unterminated string literal");
      const char c = src_[pos_++];
      if (c == quote) return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= src_.size()) fail(start, "unterminated string literal");
      const char e = src_[pos_++];
      switch (e) {
        case '\n': break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case 'x':
        case 'u':
        case 'U': {
          const int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          char32_t cp = 0;
          for (int k = 0; k < n; ++k) {
            if (pos_ >= src_.size() || hex_value(src_[pos_]) < 0) fail(pos_, "truncated \\" + std::string(1, e) + " escape");
            cp = cp * 16 + static_cast<char32_t>(hex_value(src_[pos_++]));
          }
          if (cp > 0x10FFFF) fail(pos_, "illegal Unicode character in escape");
          core::utf8_append(out, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            char32_t cp = static_cast<char32_t>(e - '0');
            for (int k = 0; k < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7'; ++k) {
              cp = cp * 8 + static_cast<char32_t>(src_[pos_++] - '0');
            }
            core::utf8_append(out, cp);
          } else {
            out += '\\';
            out += e;
          }
      }
    }
  }

  std::string src_;
  std::vector<std::size_t> line_starts_;
  std::size_t pos_ = 0;
  bool line_starting_ = true;
  std::vector<Token> out_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(source).run(); }

}  // namespace cnai::text::jinja
