// GgufValue / GgufArray: typed access to GGUF metadata values with
// range-checked conversions and errors that name the key.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "cnai/core/error.hpp"
#include "cnai/gguf/gguf.hpp"

namespace cnai {

std::string_view to_string(GgufType type) noexcept {
  switch (type) {
    case GgufType::uint8: return "uint8";
    case GgufType::int8: return "int8";
    case GgufType::uint16: return "uint16";
    case GgufType::int16: return "int16";
    case GgufType::uint32: return "uint32";
    case GgufType::int32: return "int32";
    case GgufType::float32: return "float32";
    case GgufType::boolean: return "bool";
    case GgufType::string: return "string";
    case GgufType::array: return "array";
    case GgufType::uint64: return "uint64";
    case GgufType::int64: return "int64";
    case GgufType::float64: return "float64";
  }
  return "unknown";
}

std::size_t gguf_type_size(GgufType type) noexcept {
  switch (type) {
    case GgufType::uint8:
    case GgufType::int8:
    case GgufType::boolean: return 1;
    case GgufType::uint16:
    case GgufType::int16: return 2;
    case GgufType::uint32:
    case GgufType::int32:
    case GgufType::float32: return 4;
    case GgufType::uint64:
    case GgufType::int64:
    case GgufType::float64: return 8;
    case GgufType::string:
    case GgufType::array: return 0;
  }
  return 0;
}

namespace {

bool is_signed_type(GgufType t) {
  return t == GgufType::int8 || t == GgufType::int16 || t == GgufType::int32 || t == GgufType::int64;
}
bool is_unsigned_type(GgufType t) {
  return t == GgufType::uint8 || t == GgufType::uint16 || t == GgufType::uint32 || t == GgufType::uint64;
}

[[noreturn]] void wrong_type(std::string_view what, std::string_view wanted, const GgufValue& v) {
  throw Error(ErrorCode::model_format, "metadata '" + std::string(what) + "': expected " +
                                           std::string(wanted) + ", stored as " + v.describe(40));
}

[[noreturn]] void wrong_array(std::string_view what, std::string_view wanted, const GgufValue& v) {
  wrong_type(what, "array of " + std::string(wanted), v);
}

template <class T>
std::optional<T> narrow(const GgufValue& v) {
  if constexpr (std::numeric_limits<T>::is_signed) {
    auto x = v.to_i64();
    if (!x || *x < std::numeric_limits<T>::min() || *x > std::numeric_limits<T>::max()) return std::nullopt;
    return static_cast<T>(*x);
  } else {
    auto x = v.to_u64();
    if (!x || *x > std::numeric_limits<T>::max()) return std::nullopt;
    return static_cast<T>(*x);
  }
}

template <class T>
std::vector<T> int_array(const GgufValue& v, std::string_view what, std::string_view wanted) {
  const GgufArray* a = v.to_array();
  if (!a || !(is_signed_type(a->element_type) || is_unsigned_type(a->element_type))) wrong_array(what, wanted, v);
  std::vector<T> out(a->size);
  for (std::size_t i = 0; i < a->size; ++i) {
    auto x = narrow<T>(a->element(i));
    if (!x) {
      throw Error(ErrorCode::model_format, "metadata '" + std::string(what) + "': element " + std::to_string(i) +
                                               " does not fit in " + std::string(wanted));
    }
    out[i] = *x;
  }
  return out;
}

}  // namespace

GgufValue GgufValue::of_unsigned(GgufType type, std::uint64_t v) {
  GgufValue r;
  r.type_ = type;
  r.v_ = v;
  return r;
}
GgufValue GgufValue::of_signed(GgufType type, std::int64_t v) {
  GgufValue r;
  r.type_ = type;
  r.v_ = v;
  return r;
}
GgufValue GgufValue::of_float(GgufType type, double v) {
  GgufValue r;
  r.type_ = type;
  r.v_ = v;
  return r;
}
GgufValue GgufValue::of_bool(bool v) {
  GgufValue r;
  r.type_ = GgufType::boolean;
  r.v_ = v;
  return r;
}
GgufValue GgufValue::of_string(std::string v) {
  GgufValue r;
  r.type_ = GgufType::string;
  r.v_ = std::move(v);
  return r;
}
GgufValue GgufValue::of_array(std::shared_ptr<const GgufArray> v) {
  GgufValue r;
  r.type_ = GgufType::array;
  r.v_ = std::move(v);
  return r;
}

bool GgufValue::is_integer() const noexcept { return is_signed_type(type_) || is_unsigned_type(type_); }
bool GgufValue::is_float() const noexcept { return type_ == GgufType::float32 || type_ == GgufType::float64; }

std::optional<std::int64_t> GgufValue::to_i64() const noexcept {
  if (is_signed_type(type_)) return std::get<std::int64_t>(v_);
  if (is_unsigned_type(type_)) {
    auto u = std::get<std::uint64_t>(v_);
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  return std::nullopt;
}

std::optional<std::uint64_t> GgufValue::to_u64() const noexcept {
  if (is_unsigned_type(type_)) return std::get<std::uint64_t>(v_);
  if (is_signed_type(type_)) {
    auto s = std::get<std::int64_t>(v_);
    if (s < 0) return std::nullopt;
    return static_cast<std::uint64_t>(s);
  }
  return std::nullopt;
}

std::optional<double> GgufValue::to_f64() const noexcept {
  if (is_float()) return std::get<double>(v_);
  return std::nullopt;
}

std::optional<bool> GgufValue::to_bool() const noexcept {
  if (type_ == GgufType::boolean) return std::get<bool>(v_);
  return std::nullopt;
}

const std::string* GgufValue::to_string() const noexcept {
  return type_ == GgufType::string ? &std::get<std::string>(v_) : nullptr;
}

const GgufArray* GgufValue::to_array() const noexcept {
  return type_ == GgufType::array ? std::get<std::shared_ptr<const GgufArray>>(v_).get() : nullptr;
}

std::uint32_t GgufValue::as_u32(std::string_view what) const {
  if (auto x = narrow<std::uint32_t>(*this)) return *x;
  wrong_type(what, "an integer fitting uint32", *this);
}
std::int32_t GgufValue::as_i32(std::string_view what) const {
  if (auto x = narrow<std::int32_t>(*this)) return *x;
  wrong_type(what, "an integer fitting int32", *this);
}
std::uint64_t GgufValue::as_u64(std::string_view what) const {
  if (auto x = to_u64()) return *x;
  wrong_type(what, "an integer fitting uint64", *this);
}
std::int64_t GgufValue::as_i64(std::string_view what) const {
  if (auto x = to_i64()) return *x;
  wrong_type(what, "an integer fitting int64", *this);
}
float GgufValue::as_f32(std::string_view what) const {
  if (auto x = to_f64()) return static_cast<float>(*x);
  wrong_type(what, "float32 or float64", *this);
}
double GgufValue::as_f64(std::string_view what) const {
  if (auto x = to_f64()) return *x;
  wrong_type(what, "float32 or float64", *this);
}
bool GgufValue::as_bool(std::string_view what) const {
  if (auto x = to_bool()) return *x;
  wrong_type(what, "bool", *this);
}
const std::string& GgufValue::as_string(std::string_view what) const {
  if (auto* s = to_string()) return *s;
  wrong_type(what, "string", *this);
}
const GgufArray& GgufValue::as_array(std::string_view what) const {
  if (auto* a = to_array()) return *a;
  wrong_type(what, "array", *this);
}

const std::vector<std::string>& GgufValue::as_string_array(std::string_view what) const {
  const GgufArray* a = to_array();
  if (!a || a->element_type != GgufType::string) wrong_array(what, "string", *this);
  return a->strings;
}

std::vector<float> GgufValue::as_f32_array(std::string_view what) const {
  const GgufArray* a = to_array();
  if (!a || (a->element_type != GgufType::float32 && a->element_type != GgufType::float64)) {
    wrong_array(what, "float32 or float64", *this);
  }
  std::vector<float> out(a->size);
  if (a->element_type == GgufType::float32) {
    if (a->size) std::memcpy(out.data(), a->raw.data(), a->size * sizeof(float));
  } else {
    for (std::size_t i = 0; i < a->size; ++i) {
      double d;
      std::memcpy(&d, a->raw.data() + i * 8, 8);
      out[i] = static_cast<float>(d);
    }
  }
  return out;
}

std::vector<std::int32_t> GgufValue::as_i32_array(std::string_view what) const {
  return int_array<std::int32_t>(*this, what, "int32");
}
std::vector<std::uint32_t> GgufValue::as_u32_array(std::string_view what) const {
  return int_array<std::uint32_t>(*this, what, "uint32");
}
std::vector<std::int64_t> GgufValue::as_i64_array(std::string_view what) const {
  return int_array<std::int64_t>(*this, what, "int64");
}

std::string GgufValue::describe(std::size_t max_string) const {
  // Built by appending: GCC 12 warns (-Wrestrict, falsely) on "literal" + std::string&&.
  std::string out;
  switch (type_) {
    case GgufType::string: {
      const auto& s = std::get<std::string>(v_);
      out.append(1, '"').append(s, 0, std::min(s.size(), max_string)).append(1, '"');
      if (s.size() > max_string) out.append("... (").append(std::to_string(s.size())).append(" bytes)");
      return out;
    }
    case GgufType::array: {
      const auto* a = to_array();
      out.append("array<").append(cnai::to_string(a->element_type)).append(">[");
      return out.append(std::to_string(a->size)).append("]");
    }
    case GgufType::boolean: return std::get<bool>(v_) ? "true" : "false";
    case GgufType::float32:
    case GgufType::float64: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.9g", std::get<double>(v_));
      out = buf;
      break;
    }
    default:
      out = is_signed_type(type_) ? std::to_string(std::get<std::int64_t>(v_))
                                  : std::to_string(std::get<std::uint64_t>(v_));
  }
  return out.append(" (").append(cnai::to_string(type_)).append(")");
}

GgufValue GgufArray::element(std::size_t i) const {
  if (i >= size) throw Error(ErrorCode::invalid_argument, "GGUF array index out of range");
  if (element_type == GgufType::string) return GgufValue::of_string(strings[i]);
  if (element_type == GgufType::array) return arrays[i];
  const std::size_t n = gguf_type_size(element_type);
  const std::uint8_t* p = raw.data() + i * n;
  switch (element_type) {
    case GgufType::uint8: return GgufValue::of_unsigned(element_type, p[0]);
    case GgufType::int8: return GgufValue::of_signed(element_type, static_cast<std::int8_t>(p[0]));
    case GgufType::boolean: return GgufValue::of_bool(p[0] != 0);
    case GgufType::uint16: { std::uint16_t x; std::memcpy(&x, p, 2); return GgufValue::of_unsigned(element_type, x); }
    case GgufType::int16: { std::int16_t x; std::memcpy(&x, p, 2); return GgufValue::of_signed(element_type, x); }
    case GgufType::uint32: { std::uint32_t x; std::memcpy(&x, p, 4); return GgufValue::of_unsigned(element_type, x); }
    case GgufType::int32: { std::int32_t x; std::memcpy(&x, p, 4); return GgufValue::of_signed(element_type, x); }
    case GgufType::uint64: { std::uint64_t x; std::memcpy(&x, p, 8); return GgufValue::of_unsigned(element_type, x); }
    case GgufType::int64: { std::int64_t x; std::memcpy(&x, p, 8); return GgufValue::of_signed(element_type, x); }
    case GgufType::float32: { float x; std::memcpy(&x, p, 4); return GgufValue::of_float(element_type, x); }
    case GgufType::float64: { double x; std::memcpy(&x, p, 8); return GgufValue::of_float(element_type, x); }
    default: break;
  }
  throw Error(ErrorCode::internal, "GGUF array with unknown element type");
}

}  // namespace cnai
