// multipart/form-data (RFC 7578) as POST /v1/files receives it: the
// boundary from the Content-Type, then each part's name, filename and
// bytes. Hostile bodies get Error(invalid_argument) naming what is wrong.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cnai::server {

struct FormPart {
  std::string name;
  std::optional<std::string> filename;
  std::string content_type;
  std::string_view data;  // into the body passed to parse_multipart
};

/// The boundary parameter of a multipart/form-data Content-Type.
std::string multipart_boundary(std::string_view content_type);

/// Every part, in order. The returned views point into `body`.
std::vector<FormPart> parse_multipart(std::string_view body, std::string_view boundary);

}  // namespace cnai::server
