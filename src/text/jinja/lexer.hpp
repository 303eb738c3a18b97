// Splits Jinja source into text and tag tokens with jinja2's whitespace rules
// as Hugging Face configures them (trim_blocks, lstrip_blocks, `-`/`+` markers).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cnai::text::jinja {

enum class Tok { text, var_begin, var_end, block_begin, block_end, name, string, integer, floating, op, eof };

struct Token {
  Tok type = Tok::eof;
  std::string text;  // text data, name, decoded string literal, number or operator spelling
  int line = 1;
  int col = 1;
};

/// Throws Error(model_format) naming line:column for unterminated tags,
/// strings and comments or characters that start no token.
std::vector<Token> tokenize(std::string_view source);

}  // namespace cnai::text::jinja
