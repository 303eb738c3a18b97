#include "api/json_fields.hpp"

#include <utility>

#include "cnai/core/error.hpp"
#include "core/printable.hpp"

namespace cnai::json {

bj::value parse(std::string_view text, std::string_view context, ErrorCode code) {
  boost::system::error_code ec;
  bj::parse_options opts;
  opts.max_depth = 64;  // bounded recursion on hostile input
  bj::value v = bj::parse(bj::string_view(text.data(), text.size()), ec, {}, opts);
  if (ec) {
    throw Error(code, std::string(context) + ": malformed JSON (" + ec.message() + ") in body starting '" +
                          core::printable(text, 120) + "'");
  }
  return v;
}

std::string dump(const bj::value& v) { return bj::serialize(v); }

Fields::Fields(const bj::object& object, std::string path, std::string_view context, ErrorCode code)
    : object_(&object), path_(std::move(path)), context_(context), code_(code) {}

Fields Fields::root(const bj::value& v, std::string_view context, ErrorCode code) {
  const bj::object* o = v.if_object();
  if (!o) throw Error(code, std::string(context) + ": expected a JSON object at top level");
  return Fields(*o, "", context, code);
}

std::string Fields::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void Fields::fail(std::string_view key, std::string_view expected) const { fail(key, expected, code_); }

void Fields::fail(std::string_view key, std::string_view expected, ErrorCode code) const {
  // Keys come from the document: escaped like any text from outside.
  throw Error(code, context_ + ": field '" + core::printable(path_of(key), 200) + "' " + std::string(expected));
}

const bj::value* Fields::raw(std::string_view key) const {
  const bj::value* v = object_->if_contains(bj::string_view(key.data(), key.size()));
  if (!v || v->is_null()) return nullptr;
  return v;
}

bool Fields::has(std::string_view key) const { return raw(key) != nullptr; }

std::optional<std::string> Fields::opt_str(std::string_view key) const {
  const bj::value* v = raw(key);
  if (!v) return std::nullopt;
  const bj::string* s = v->if_string();
  if (!s) fail(key, "expected a string");
  return std::string(s->data(), s->size());
}

std::string Fields::str(std::string_view key, std::string fallback) const {
  auto s = opt_str(key);
  return s ? std::move(*s) : std::move(fallback);
}

std::int64_t Fields::int64(std::string_view key, std::int64_t fallback) const {
  const bj::value* v = raw(key);
  if (!v) return fallback;
  boost::system::error_code ec;
  auto n = v->to_number<std::int64_t>(ec);
  if (ec) fail(key, "expected an integer");
  return n;
}

std::int64_t Fields::int_in(std::string_view key, std::int64_t lo, std::int64_t hi, std::int64_t fallback) const {
  const std::int64_t n = int64(key, fallback);
  if (n < lo || n > hi) fail(key, "is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return n;
}

std::int64_t Fields::count(std::string_view key, std::int64_t fallback) const {
  return int_in(key, 0, kMaxTokenCount, fallback);
}

std::optional<double> Fields::opt_double(std::string_view key) const {
  const bj::value* v = raw(key);
  if (!v) return std::nullopt;
  boost::system::error_code ec;
  double d = v->to_number<double>(ec);
  if (ec) fail(key, "expected a number");
  return d;
}

std::optional<bool> Fields::opt_bool(std::string_view key) const {
  const bj::value* v = raw(key);
  if (!v) return std::nullopt;
  if (!v->is_bool()) fail(key, "expected a boolean");
  return v->get_bool();
}

const bj::array* Fields::array(std::string_view key) const {
  const bj::value* v = raw(key);
  if (!v) return nullptr;
  const bj::array* a = v->if_array();
  if (!a) fail(key, "expected an array");
  return a;
}

std::optional<Fields> Fields::object(std::string_view key) const {
  const bj::value* v = raw(key);
  if (!v) return std::nullopt;
  const bj::object* o = v->if_object();
  if (!o) fail(key, "expected an object");
  return Fields(*o, path_of(key), context_, code_);
}

Fields Fields::element(std::string_view key, const bj::array& a, std::size_t i) const {
  std::string p = path_of(key) + "[" + std::to_string(i) + "]";
  const bj::object* o = a[i].if_object();
  if (!o) throw Error(code_, context_ + ": field '" + p + "' expected an object");
  return Fields(*o, std::move(p), context_, code_);
}

double to_double(const bj::value& v, const std::string& path, std::string_view context, ErrorCode code) {
  boost::system::error_code ec;
  double d = v.to_number<double>(ec);
  if (ec) throw Error(code, std::string(context) + ": field '" + path + "' expected a number");
  return d;
}

}  // namespace cnai::json
