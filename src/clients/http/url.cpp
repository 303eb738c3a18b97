// Url parsing, case-insensitive header lookup and CancelToken: the small,
// Beast-free parts of the HTTP client interface.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "clients/http/http_client.hpp"
#include "cnai/core/error.hpp"

namespace cnai::clients {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

[[noreturn]] void bad_url(std::string_view url, std::string_view why) {
  throw Error(ErrorCode::invalid_argument, fmt::format("invalid URL '{}': {}", url, why));
}

uint16_t parse_port(std::string_view url, std::string_view digits) {
  if (digits.empty() || digits.size() > 5) bad_url(url, "bad port");
  unsigned port = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') bad_url(url, "bad port");
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port == 0 || port > 65535) bad_url(url, "port out of range");
  return static_cast<uint16_t>(port);
}

// Splits "host", "host:port", "[v6]" or "[v6]:port".
void parse_authority(std::string_view url, std::string_view authority, Url& out) {
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) bad_url(url, "unterminated IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') bad_url(url, "junk after IPv6 address");
      port_text = rest.substr(1);
      if (port_text.empty()) bad_url(url, "bad port");
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) bad_url(url, "bad port");
    }
  }
  if (out.host.empty()) bad_url(url, "missing host");
  if (!port_text.empty()) out.port = parse_port(url, port_text);
}

}  // namespace

Url Url::parse(std::string_view url) {
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) bad_url(url, "contains whitespace or control characters");
  }
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) bad_url(url, "missing scheme");
  Url out;
  out.scheme = std::string(url.substr(0, sep));
  std::transform(out.scheme.begin(), out.scheme.end(), out.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (out.scheme != "http" && out.scheme != "https") bad_url(url, "scheme must be http or https");
  out.port = out.scheme == "https" ? 443 : 80;

  std::string_view rest = url.substr(sep + 3);
  const auto authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  if (authority.find('@') != std::string_view::npos) bad_url(url, "credentials in URLs are not supported");
  parse_authority(url, authority, out);

  std::string_view target = authority_end == std::string_view::npos ? "" : rest.substr(authority_end);
  target = target.substr(0, target.find('#'));
  if (!target.starts_with('/')) out.target.push_back('/');
  out.target.append(target);
  return out;
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

void CancelToken::cancel() {
  std::lock_guard lock(mutex_);
  if (cancelled_) return;
  cancelled_ = true;
  // Called under the lock so remove_callback() guarantees none is running.
  for (auto& [id, callback] : callbacks_) callback();
}

bool CancelToken::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

std::uint64_t CancelToken::add_callback(std::function<void()> on_cancel) const {
  std::lock_guard lock(mutex_);
  if (cancelled_) {
    on_cancel();
    return 0;
  }
  callbacks_.emplace_back(next_id_, std::move(on_cancel));
  return next_id_++;
}

void CancelToken::remove_callback(std::uint64_t id) const {
  std::lock_guard lock(mutex_);
  std::erase_if(callbacks_, [id](const auto& entry) { return entry.first == id; });
}

}  // namespace cnai::clients
