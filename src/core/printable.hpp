// Text from outside (a server's error body, a client's malformed request)
// made safe to put in an error message that ends up on a terminal: control
// characters escaped, invalid UTF-8 replaced, length bounded.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cnai::core {

/// At most `max_bytes` of `text` (cut at a character boundary, "..." added
/// when cut), with C0 controls, DEL and C1 controls written as \xNN (and
/// \n, \r, \t as those two-character escapes), invalid UTF-8 as U+FFFD.
std::string printable(std::string_view text, std::size_t max_bytes = 300);

}  // namespace cnai::core
