// parse_batch_input: one Boost.JSON parse per line, bounded depth.
#include "server/batch_input.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <unordered_set>

namespace cnai::server {
namespace {

namespace bj = boost::json;

std::string_view next_line(std::string_view& rest) {
  const auto nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool blank(std::string_view s) { return s.find_first_not_of(" \t") == std::string_view::npos; }

const bj::string* string_field(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v ? v->if_string() : nullptr;
}

}  // namespace

bool is_batch_endpoint(std::string_view url) {
  return url == "/v1/chat/completions" || url == "/v1/embeddings" || url == "/v1/completions" ||
         url == "/v1/responses";
}

BatchInput parse_batch_input(std::string_view content, std::string_view endpoint, const BatchInputLimits& limits) {
  BatchInput out;
  std::unordered_set<std::string> ids;
  auto error = [&](std::string code, std::string message, std::int64_t line, std::string param = {}) {
    if (out.errors.size() < limits.max_errors) out.errors.push_back({std::move(code), std::move(message), line, std::move(param)});
  };
  std::string_view rest = content;
  std::int64_t n = 0;
  while (!rest.empty()) {
    const std::string_view text = next_line(rest);
    ++n;
    if (blank(text)) continue;
    if (out.lines.size() >= limits.max_lines) {
      error("too_many_requests", fmt::format("the file has more than {} requests", limits.max_lines), n);
      break;
    }
    boost::system::error_code ec;
    bj::parse_options opts;
    opts.max_depth = 64;
    bj::value v = bj::parse(bj::string_view(text.data(), text.size()), ec, {}, opts);
    const bj::object* o = ec ? nullptr : v.if_object();
    if (!o) {
      error("invalid_json_line", "This line is not parseable as valid JSON.", n);
      continue;
    }
    const bj::string* id = string_field(*o, "custom_id");
    const bj::string* method = string_field(*o, "method");
    const bj::string* url = string_field(*o, "url");
    const bj::value* body = o->if_contains("body");
    if (!id || id->empty()) {
      error("missing_required_parameter", "custom_id must be a non-empty string.", n, "custom_id");
    } else if (!method || *method != "POST") {
      error("invalid_method", "method must be POST.", n, "method");
    } else if (!url || *url != endpoint) {
      error("mismatched_endpoint", fmt::format("url must be {} (the batch's endpoint).", endpoint), n, "url");
    } else if (!body || !body->is_object()) {
      error("missing_required_parameter", "body must be a JSON object.", n, "body");
    } else if (!ids.insert(std::string(id->data(), id->size())).second) {
      error("duplicate_custom_id", fmt::format("custom_id '{}' appears more than once.", std::string_view(*id)), n,
            "custom_id");
    } else {
      out.lines.push_back({n, std::string(id->data(), id->size()), std::string(url->data(), url->size()),
                           bj::serialize(*body)});
    }
  }
  if (out.lines.empty() && out.errors.empty()) error("empty_file", "The input file has no requests.", 0);
  return out;
}

}  // namespace cnai::server
