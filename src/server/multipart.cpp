// multipart/form-data: find "--boundary" delimiters, split each part into
// headers (Content-Disposition name/filename, Content-Type) and data.
#include "server/multipart.hpp"

#include <cctype>

#include "cnai/core/error.hpp"

namespace cnai::server {
namespace {

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorCode::invalid_argument, "multipart body: " + what); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of `param` in a header like: form-data; name="file"; filename="a.jsonl".
std::optional<std::string> header_param(std::string_view header, std::string_view param) {
  std::size_t pos = 0;
  while (pos < header.size()) {
    const auto semi = header.find(';', pos);
    std::string_view item = trim(header.substr(pos, semi == std::string_view::npos ? semi : semi - pos));
    pos = semi == std::string_view::npos ? header.size() : semi + 1;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos || lower(trim(item.substr(0, eq))) != param) continue;
    std::string_view v = trim(item.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
      std::string out;
      for (std::size_t i = 1; i + 1 < v.size(); ++i) {
        if (v[i] == '\\' && i + 2 < v.size()) ++i;
        out += v[i];
      }
      return out;
    }
    return std::string(v);
  }
  return std::nullopt;
}

}  // namespace

std::string multipart_boundary(std::string_view content_type) {
  if (!lower(content_type).starts_with("multipart/form-data")) bad("Content-Type is not multipart/form-data");
  auto b = header_param(content_type, "boundary");
  if (!b || b->empty() || b->size() > 200) bad("no usable boundary in Content-Type");
  return *b;
}

std::vector<FormPart> parse_multipart(std::string_view body, std::string_view boundary) {
  const std::string delim = "--" + std::string(boundary);
  std::vector<FormPart> parts;
  std::size_t pos = body.find(delim);
  if (pos == std::string_view::npos) bad("no boundary delimiter found");
  while (true) {
    pos += delim.size();
    if (body.substr(pos, 2) == "--") return parts;  // the closing delimiter
    if (body.substr(pos, 2) != "\r\n") bad("a delimiter is not followed by CRLF");
    pos += 2;
    const auto head_end = body.find("\r\n\r\n", pos);
    if (head_end == std::string_view::npos) bad("a part's headers do not end");
    FormPart part;
    std::string_view headers = body.substr(pos, head_end - pos);
    while (!headers.empty()) {
      const auto nl = headers.find("\r\n");
      std::string_view line = headers.substr(0, nl);
      headers = nl == std::string_view::npos ? std::string_view{} : headers.substr(nl + 2);
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) bad("a part header has no ':'");
      const std::string name = lower(trim(line.substr(0, colon)));
      std::string_view value = trim(line.substr(colon + 1));
      if (name == "content-disposition") {
        part.name = header_param(value, "name").value_or("");
        part.filename = header_param(value, "filename");
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
    }
    const std::size_t data_begin = head_end + 4;
    const auto next = body.find("\r\n" + delim, data_begin);
    if (next == std::string_view::npos) bad("a part is not closed by the boundary");
    part.data = body.substr(data_begin, next - data_begin);
    if (part.name.empty()) bad("a part has no name");
    parts.push_back(std::move(part));
    if (parts.size() > 64) bad("more than 64 parts");
    pos = next + 2;
  }
}

}  // namespace cnai::server
