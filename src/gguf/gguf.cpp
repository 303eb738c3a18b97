// GgufReader: parses and validates a GGUF file (header, metadata, tensor infos,
// data layout). Every length is checked against the bytes that remain before
// anything is allocated, so a hostile file fails fast with Error(model_format).
#include "cnai/gguf/gguf.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>
#include <utility>

#include "cnai/core/error.hpp"
#include "cnai/core/mapped_file.hpp"

namespace cnai {

namespace {

constexpr std::uint64_t kMaxKeyBytes = 65535;      // GGUF spec limit for keys
constexpr std::uint64_t kMaxTensorNameBytes = 64;  // GGUF spec limit for tensor names
constexpr std::uint64_t kMinKvBytes = 8 + 1 + 4 + 1;              // len, 1-byte key, type, 1-byte value
constexpr std::uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;  // len, name, n_dims, dim, type, offset
constexpr std::size_t kReserveCap = 1 << 16;       // never pre-allocate beyond this on a file's word

}  // namespace

/// One pass over the bytes; fills a GgufReader or throws Error(model_format).
class GgufParser {
 public:
  // `source` (a path, may be empty) prefixes every error message.
  GgufParser(GgufReader& r, std::string source) : r_(r), bytes_(r.bytes_), source_(std::move(source)) {}

  void parse() {
    parse_header();
    for (std::uint64_t i = 0; i < n_kv_; ++i) parse_kv(i);
    resolve_alignment();
    for (std::uint64_t i = 0; i < n_tensors_; ++i) parse_tensor_info(i);
    layout_tensor_data();
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const {
    std::string full = source_.empty() ? std::string("GGUF: ") : "GGUF '" + source_ + "': ";
    full.append(msg).append(" (at byte ").append(std::to_string(pos_)).append(")");
    throw Error(ErrorCode::model_format, std::move(full));
  }

  std::uint64_t remaining() const { return bytes_.size() - pos_; }

  [[noreturn]] void fail_short(std::uint64_t n, const std::string& what) const {
    fail(what + " needs " + std::to_string(n) + " bytes but only " + std::to_string(remaining()) +
         " remain in the file");
  }

  void need(std::uint64_t n, const char* what) const {
    if (n > remaining()) fail_short(n, what);
  }

  template <class T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  // `what()` names the string for an error message; it is only called on failure,
  // because building it for each of ~100k vocabulary strings would cost more than the parse.
  template <class What>
  std::string read_string(std::uint64_t max_len, const What& what) {
    const auto len = read<std::uint64_t>("string length");
    if (len > max_len) fail(what() + " length " + std::to_string(len) + " exceeds limit " + std::to_string(max_len));
    if (len > remaining()) fail_short(len, what() + " of declared length " + std::to_string(len));
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<std::size_t>(len));
    pos_ += len;
    return s;
  }

  void parse_header() {
    need(4, "magic");
    if (std::memcmp(bytes_.data(), "GGUF", 4) != 0) fail("bad magic (not a GGUF file)");
    pos_ = 4;
    r_.version_ = read<std::uint32_t>("version");
    if (r_.version_ == 1) fail("GGUF version 1 is not supported (only 2 and 3)");
    if (r_.version_ != 2 && r_.version_ != 3) fail("unknown GGUF version " + std::to_string(r_.version_));
    n_tensors_ = read<std::uint64_t>("tensor count");
    n_kv_ = read<std::uint64_t>("metadata count");
    // Each entry takes a minimum number of bytes: reject counts the file cannot hold.
    const std::uint64_t rem = remaining();
    if (n_kv_ > rem / kMinKvBytes) fail("metadata count " + std::to_string(n_kv_) + " exceeds what the file can hold");
    if (n_tensors_ > (rem - n_kv_ * kMinKvBytes) / kMinTensorInfoBytes) {
      fail("tensor count " + std::to_string(n_tensors_) + " exceeds what the file can hold");
    }
  }

  void parse_kv(std::uint64_t index) {
    std::string key = read_string(kMaxKeyBytes, [&] { return "key #" + std::to_string(index); });
    if (key.empty()) fail("metadata key #" + std::to_string(index) + " is empty");
    if (r_.kv_index_.count(key)) fail("duplicate metadata key '" + key + "'");
    const auto type = read<std::uint32_t>("value type");
    GgufValue value = parse_value(type, 0, key);
    r_.kv_index_.emplace(key, r_.kvs_.size());
    r_.kvs_.push_back({std::move(key), std::move(value)});
  }

  GgufValue parse_value(std::uint32_t raw_type, int depth, const std::string& key) {
    if (raw_type > static_cast<std::uint32_t>(GgufType::float64)) {
      fail("metadata '" + key + "' has unknown value type " + std::to_string(raw_type));
    }
    const auto type = static_cast<GgufType>(raw_type);
    switch (type) {
      case GgufType::uint8: return GgufValue::of_unsigned(type, read<std::uint8_t>("uint8"));
      case GgufType::int8: return GgufValue::of_signed(type, read<std::int8_t>("int8"));
      case GgufType::uint16: return GgufValue::of_unsigned(type, read<std::uint16_t>("uint16"));
      case GgufType::int16: return GgufValue::of_signed(type, read<std::int16_t>("int16"));
      case GgufType::uint32: return GgufValue::of_unsigned(type, read<std::uint32_t>("uint32"));
      case GgufType::int32: return GgufValue::of_signed(type, read<std::int32_t>("int32"));
      case GgufType::uint64: return GgufValue::of_unsigned(type, read<std::uint64_t>("uint64"));
      case GgufType::int64: return GgufValue::of_signed(type, read<std::int64_t>("int64"));
      case GgufType::float32: return GgufValue::of_float(type, read<float>("float32"));
      case GgufType::float64: return GgufValue::of_float(type, read<double>("float64"));
      case GgufType::boolean: return GgufValue::of_bool(read_bool(key));
      case GgufType::string:
        return GgufValue::of_string(read_string(UINT64_MAX, [&] { return "metadata '" + key + "' string"; }));
      case GgufType::array: return GgufValue::of_array(parse_array(depth + 1, key));
    }
    fail("metadata '" + key + "' has unknown value type");
  }

  bool read_bool(const std::string& key) {
    const auto b = read<std::uint8_t>("bool");
    if (b > 1) fail("metadata '" + key + "' bool value " + std::to_string(b) + " is not 0 or 1");
    return b == 1;
  }

  std::shared_ptr<const GgufArray> parse_array(int depth, const std::string& key) {
    if (depth > GgufReader::kMaxArrayDepth) {
      fail("metadata '" + key + "' nests arrays deeper than " + std::to_string(GgufReader::kMaxArrayDepth));
    }
    const auto raw_type = read<std::uint32_t>("array element type");
    if (raw_type > static_cast<std::uint32_t>(GgufType::float64)) {
      fail("metadata '" + key + "' array has unknown element type " + std::to_string(raw_type));
    }
    auto a = std::make_shared<GgufArray>();
    a->element_type = static_cast<GgufType>(raw_type);
    const auto count = read<std::uint64_t>("array length");
    // Each nested array costs ~15x its 12 file bytes in memory: cap them per file.
    if (a->element_type == GgufType::array) {
      if (count > GgufReader::kMaxNestedArrays - nested_arrays_) {
        fail("metadata '" + key + "' holds more than " + std::to_string(GgufReader::kMaxNestedArrays) +
             " nested arrays");
      }
      nested_arrays_ += count;
    }
    const std::size_t elem = gguf_type_size(a->element_type);
    // Smallest possible encoding of one element: fixed size, 8-byte string length, or 12-byte array header.
    const std::uint64_t min_elem = elem ? elem : (a->element_type == GgufType::string ? 8 : 12);
    if (count > remaining() / min_elem) {
      fail("metadata '" + key + "' array length " + std::to_string(count) + " exceeds the remaining file");
    }
    a->size = static_cast<std::size_t>(count);
    if (elem) {
      read_fixed_elements(*a, key);
    } else if (a->element_type == GgufType::string) {
      a->strings.reserve(std::min<std::size_t>(a->size, kReserveCap));
      for (std::size_t i = 0; i < a->size; ++i) {
        auto what = [&] { return "metadata '" + key + "' element " + std::to_string(i); };
        a->strings.push_back(read_string(UINT64_MAX, what));
      }
    } else {
      a->arrays.reserve(std::min<std::size_t>(a->size, kReserveCap));
      for (std::size_t i = 0; i < a->size; ++i) {
        a->arrays.push_back(GgufValue::of_array(parse_array(depth + 1, key)));
      }
    }
    return a;
  }

  void read_fixed_elements(GgufArray& a, const std::string& key) {
    const std::size_t n = a.size * gguf_type_size(a.element_type);  // bounded by remaining()
    a.raw.assign(bytes_.data() + pos_, bytes_.data() + pos_ + n);
    pos_ += n;
    if (a.element_type == GgufType::boolean) {
      for (auto b : a.raw) {
        if (b > 1) fail("metadata '" + key + "' bool array holds " + std::to_string(b) + ", not 0 or 1");
      }
    }
  }

  void resolve_alignment() {
    const GgufValue* v = r_.find("general.alignment");
    if (!v) return;
    if (v->type() != GgufType::uint32) {
      fail("general.alignment must be stored as uint32, not " + std::string(to_string(v->type())));
    }
    const auto a = static_cast<std::uint32_t>(*v->to_u64());
    if (a == 0 || (a & (a - 1)) != 0) fail("general.alignment " + std::to_string(a) + " is not a power of two");
    // GGUF's rule; below it, a tensor's blocks (their f16 scales) would sit at
    // addresses the kernels cannot read them from (found by fuzz_encoder_gguf).
    if (a % 8 != 0) fail("general.alignment " + std::to_string(a) + " is not a multiple of 8");
    r_.alignment_ = a;
  }

  void parse_tensor_info(std::uint64_t index) {
    GgufTensorInfo t;
    t.name = read_string(kMaxTensorNameBytes, [&] { return "tensor #" + std::to_string(index) + " name"; });
    if (t.name.empty()) fail("tensor #" + std::to_string(index) + " has an empty name");
    if (r_.tensor_index_.count(t.name)) fail("duplicate tensor name '" + t.name + "'");
    const auto n_dims = read<std::uint32_t>("tensor rank");
    if (n_dims == 0 || n_dims > static_cast<std::uint32_t>(kMaxRank)) {
      fail("tensor '" + t.name + "' has " + std::to_string(n_dims) + " dimensions (must be 1..4)");
    }
    std::int64_t dims[kMaxRank];  // GGUF order: innermost first
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      const auto raw = read<std::uint64_t>("tensor dimension");
      if (raw == 0 || raw > static_cast<std::uint64_t>(INT64_MAX)) {
        fail("tensor '" + t.name + "' dimension " + std::to_string(d) + " is " +
             std::to_string(static_cast<std::int64_t>(raw)) + " (must be positive)");
      }
      dims[d] = static_cast<std::int64_t>(raw);
    }
    const auto raw_type = read<std::uint32_t>("tensor type");
    t.offset = read<std::uint64_t>("tensor offset");
    t.nbytes = checked_size(t.name, raw_type, dims, n_dims, t.dtype);
    if (t.offset % r_.alignment_ != 0) {
      fail("tensor '" + t.name + "' offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
           std::to_string(r_.alignment_));
    }
    std::int64_t rowmajor[kMaxRank];
    for (std::uint32_t d = 0; d < n_dims; ++d) rowmajor[d] = dims[n_dims - 1 - d];
    t.shape = Shape::of(rowmajor, static_cast<int>(n_dims));
    r_.tensor_index_.emplace(t.name, r_.tensors_.size());
    r_.tensors_.push_back(std::move(t));
  }

  // Byte size of a tensor, with every multiplication checked for overflow.
  std::uint64_t checked_size(const std::string& name, std::uint32_t raw_type, const std::int64_t* dims,
                             std::uint32_t n_dims, DType& dtype) const {
    const auto tr = dtype_traits(raw_type);
    if (!tr) fail("tensor '" + name + "' has unknown type " + std::to_string(raw_type));
    dtype = static_cast<DType>(raw_type);
    const auto block = static_cast<std::int64_t>(tr->block_size);
    if (dims[0] % block != 0) {
      fail("tensor '" + name + "' innermost dimension " + std::to_string(dims[0]) +
           " is not a multiple of " + std::string(tr->name) + "'s block size " + std::to_string(block));
    }
    std::int64_t numel = 1;
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      if (__builtin_mul_overflow(numel, dims[d], &numel)) fail("tensor '" + name + "' element count overflows");
    }
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(static_cast<std::uint64_t>(numel / block), tr->type_size, &bytes)) {
      fail("tensor '" + name + "' byte size overflows");
    }
    return bytes;
  }

  // Converts relative offsets to absolute ones and checks bounds and overlap.
  void layout_tensor_data() {
    const std::uint64_t a = r_.alignment_;
    r_.data_offset_ = pos_ + (a - pos_ % a) % a;  // pos_ <= file size, so this cannot wrap
    const std::uint64_t size = bytes_.size();
    for (auto& t : r_.tensors_) {
      std::uint64_t begin = 0, end = 0;
      if (__builtin_add_overflow(r_.data_offset_, t.offset, &begin) ||
          __builtin_add_overflow(begin, t.nbytes, &end) || end > size) {
        fail("tensor '" + t.name + "' data (offset " + std::to_string(t.offset) + ", " + std::to_string(t.nbytes) +
             " bytes) lies outside the file of " + std::to_string(size) + " bytes");
      }
      t.offset = begin;
    }
    std::vector<std::size_t> order(r_.tensors_.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t x, std::size_t y) { return r_.tensors_[x].offset < r_.tensors_[y].offset; });
    for (std::size_t i = 1; i < order.size(); ++i) {
      const auto& prev = r_.tensors_[order[i - 1]];
      const auto& cur = r_.tensors_[order[i]];
      if (prev.offset + prev.nbytes > cur.offset) {
        fail("tensor '" + cur.name + "' data overlaps tensor '" + prev.name + "'");
      }
    }
  }

  GgufReader& r_;
  std::span<const std::uint8_t> bytes_;
  std::string source_;
  std::uint64_t pos_ = 0;
  std::uint64_t n_tensors_ = 0;
  std::uint64_t n_kv_ = 0;
  std::uint64_t nested_arrays_ = 0;
};

GgufReader GgufReader::parse(std::span<const std::uint8_t> bytes, std::shared_ptr<const void> keep_alive,
                             std::string source) {
  GgufReader r;
  r.bytes_ = bytes;
  r.keep_alive_ = std::move(keep_alive);
  GgufParser(r, std::move(source)).parse();
  return r;
}

GgufReader GgufReader::from_bytes(std::span<const std::uint8_t> bytes, std::shared_ptr<const void> keep_alive) {
  return parse(bytes, std::move(keep_alive), {});
}

GgufReader GgufReader::from_copy(std::vector<std::uint8_t> bytes) {
  auto owned = std::make_shared<const std::vector<std::uint8_t>>(std::move(bytes));
  std::span<const std::uint8_t> view(owned->data(), owned->size());
  return from_bytes(view, std::move(owned));
}

GgufReader GgufReader::open(const std::string& path) {
  auto mapping = std::make_shared<const MappedFile>(path);
  const auto bytes = mapping->bytes();
  return parse(bytes, std::move(mapping), path);
}

const GgufValue* GgufReader::find(std::string_view key) const noexcept {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

const GgufValue& GgufReader::get(std::string_view key) const {
  if (const GgufValue* v = find(key)) return *v;
  throw Error(ErrorCode::model_format, "missing metadata key '" + std::string(key) + "'");
}

std::uint32_t GgufReader::get_u32(std::string_view key) const { return get(key).as_u32(key); }
std::int32_t GgufReader::get_i32(std::string_view key) const { return get(key).as_i32(key); }
std::uint64_t GgufReader::get_u64(std::string_view key) const { return get(key).as_u64(key); }
std::int64_t GgufReader::get_i64(std::string_view key) const { return get(key).as_i64(key); }
float GgufReader::get_f32(std::string_view key) const { return get(key).as_f32(key); }
double GgufReader::get_f64(std::string_view key) const { return get(key).as_f64(key); }
bool GgufReader::get_bool(std::string_view key) const { return get(key).as_bool(key); }
const std::string& GgufReader::get_string(std::string_view key) const { return get(key).as_string(key); }
const std::vector<std::string>& GgufReader::get_string_array(std::string_view key) const {
  return get(key).as_string_array(key);
}
std::vector<float> GgufReader::get_f32_array(std::string_view key) const { return get(key).as_f32_array(key); }
std::vector<std::int32_t> GgufReader::get_i32_array(std::string_view key) const {
  return get(key).as_i32_array(key);
}
std::vector<std::uint32_t> GgufReader::get_u32_array(std::string_view key) const {
  return get(key).as_u32_array(key);
}

std::optional<std::uint32_t> GgufReader::find_u32(std::string_view key) const {
  if (const GgufValue* v = find(key)) return v->as_u32(key);
  return std::nullopt;
}
std::optional<std::int32_t> GgufReader::find_i32(std::string_view key) const {
  if (const GgufValue* v = find(key)) return v->as_i32(key);
  return std::nullopt;
}
std::optional<std::uint64_t> GgufReader::find_u64(std::string_view key) const {
  if (const GgufValue* v = find(key)) return v->as_u64(key);
  return std::nullopt;
}
std::optional<float> GgufReader::find_f32(std::string_view key) const {
  if (const GgufValue* v = find(key)) return v->as_f32(key);
  return std::nullopt;
}
std::optional<bool> GgufReader::find_bool(std::string_view key) const {
  if (const GgufValue* v = find(key)) return v->as_bool(key);
  return std::nullopt;
}
std::optional<std::string> GgufReader::find_string(std::string_view key) const {
  if (const GgufValue* v = find(key)) return v->as_string(key);
  return std::nullopt;
}

const GgufTensorInfo* GgufReader::find_tensor(std::string_view name) const noexcept {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensorInfo& GgufReader::tensor_info(std::string_view name) const {
  if (const GgufTensorInfo* t = find_tensor(name)) return *t;
  throw Error(ErrorCode::model_format, "missing tensor '" + std::string(name) + "'");
}

namespace {
// Guards against an info taken from another reader (offsets are only checked at parse time).
void check_in_file(const GgufTensorInfo& info, std::size_t file_size) {
  if (info.offset > file_size || info.nbytes > file_size - info.offset) {
    throw Error(ErrorCode::invalid_argument, "tensor '" + info.name + "' does not belong to this GGUF file");
  }
}
}  // namespace

std::span<const std::uint8_t> GgufReader::tensor_bytes(const GgufTensorInfo& info) const {
  check_in_file(info, bytes_.size());
  return bytes_.subspan(static_cast<std::size_t>(info.offset), static_cast<std::size_t>(info.nbytes));
}

Tensor GgufReader::tensor(const GgufTensorInfo& info) const {
  check_in_file(info, bytes_.size());
  return Tensor::borrow(info.dtype, info.shape, bytes_.data() + info.offset, keep_alive_);
}

}  // namespace cnai
