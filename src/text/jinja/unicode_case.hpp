// Python's str.lower()/upper()/islower()/isupper() for the scripts chat text
// commonly uses: ASCII, Latin-1, Latin Extended-A, Greek (with final sigma),
// Cyrillic, Armenian and fullwidth Latin. Other characters have no case here.
#pragma once

#include <string>
#include <string_view>

namespace cnai::text::jinja {

std::string py_lower(std::string_view s);
std::string py_upper(std::string_view s);
/// str.capitalize(): first character upper, the rest lower.
std::string py_capitalize(std::string_view s);
/// str.title(): cased characters after an uncased one go upper, the rest lower.
std::string py_title(std::string_view s);
/// jinja2's |title filter (words split at whitespace and -({[<).
std::string jinja_title(std::string_view s);
/// str.islower() (upper = false) / str.isupper() (upper = true).
bool py_is_cased(std::string_view s, bool upper);

}  // namespace cnai::text::jinja
