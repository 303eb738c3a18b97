// GgufReader — a validating reader of GGUF (v2/v3) model files.
// Every count, length, offset and shape is checked against the file before use,
// so a hostile file yields Error(model_format) naming the problem, never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <map>
#include <variant>
#include <vector>

#include "cnai/tensor/dtype.hpp"
#include "cnai/tensor/tensor.hpp"

namespace cnai {

/// GGUF metadata value type ids, as stored in the file.
enum class GgufType : std::uint32_t {
  uint8 = 0,
  int8 = 1,
  uint16 = 2,
  int16 = 3,
  uint32 = 4,
  int32 = 5,
  float32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  uint64 = 10,
  int64 = 11,
  float64 = 12,
};

/// "uint8", "float32", "string", "array", ...
std::string_view to_string(GgufType type) noexcept;
/// Bytes of one element of a fixed-size type (0 for string and array).
std::size_t gguf_type_size(GgufType type) noexcept;

struct GgufArray;

/// One metadata value. Immutable; copies are cheap (arrays are shared).
/// The throwing accessors take a `what` (usually the key) for the message.
class GgufValue {
 public:
  GgufValue() = default;
  static GgufValue of_unsigned(GgufType type, std::uint64_t v);
  static GgufValue of_signed(GgufType type, std::int64_t v);
  static GgufValue of_float(GgufType type, double v);
  static GgufValue of_bool(bool v);
  static GgufValue of_string(std::string v);
  static GgufValue of_array(std::shared_ptr<const GgufArray> v);

  GgufType type() const noexcept { return type_; }
  bool is_integer() const noexcept;
  bool is_float() const noexcept;
  bool is_array() const noexcept { return type_ == GgufType::array; }

  // Scalars: std::nullopt when the stored type differs or the value does not fit.
  std::optional<std::int64_t> to_i64() const noexcept;
  std::optional<std::uint64_t> to_u64() const noexcept;
  std::optional<double> to_f64() const noexcept;  // float32/float64 only
  std::optional<bool> to_bool() const noexcept;
  const std::string* to_string() const noexcept;
  const GgufArray* to_array() const noexcept;

  // Scalars that throw Error(model_format) naming `what` on a type mismatch.
  std::uint32_t as_u32(std::string_view what = "value") const;
  std::int32_t as_i32(std::string_view what = "value") const;
  std::uint64_t as_u64(std::string_view what = "value") const;
  std::int64_t as_i64(std::string_view what = "value") const;
  float as_f32(std::string_view what = "value") const;
  double as_f64(std::string_view what = "value") const;
  bool as_bool(std::string_view what = "value") const;
  const std::string& as_string(std::string_view what = "value") const;
  const GgufArray& as_array(std::string_view what = "value") const;

  // Arrays, converted element-wise; throw on wrong element type or overflow.
  const std::vector<std::string>& as_string_array(std::string_view what = "value") const;
  std::vector<float> as_f32_array(std::string_view what = "value") const;
  std::vector<std::int32_t> as_i32_array(std::string_view what = "value") const;
  std::vector<std::uint32_t> as_u32_array(std::string_view what = "value") const;
  std::vector<std::int64_t> as_i64_array(std::string_view what = "value") const;

  /// Short human-readable rendering (arrays summarised as type + length).
  std::string describe(std::size_t max_string = 200) const;

 private:
  GgufType type_ = GgufType::uint8;
  std::variant<std::uint64_t, std::int64_t, double, bool, std::string,
               std::shared_ptr<const GgufArray>>
      v_{std::uint64_t{0}};
};

/// An array value. Numeric and bool elements are packed little-endian in `raw`;
/// strings and nested arrays have their own vectors.
struct GgufArray {
  GgufType element_type = GgufType::uint8;
  std::size_t size = 0;
  std::vector<std::uint8_t> raw;
  std::vector<std::string> strings;
  std::vector<GgufValue> arrays;

  /// Element `i` as a value (i < size).
  GgufValue element(std::size_t i) const;
};

struct GgufKeyValue {
  std::string key;
  GgufValue value;
};

struct GgufTensorInfo {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;                 // row-major (GGUF's dims reversed)
  std::uint64_t offset = 0;    // from the start of the file
  std::uint64_t nbytes = 0;
};

class GgufReader {
 public:
  static constexpr std::uint32_t kDefaultAlignment = 32;
  static constexpr int kMaxArrayDepth = 8;
  /// Arrays nested inside arrays, summed over the whole file (bounds memory).
  static constexpr std::uint64_t kMaxNestedArrays = 1 << 20;

  /// Maps and parses the file at `path`.
  static GgufReader open(const std::string& path);
  /// Parses bytes owned elsewhere; `keep_alive` (may be null) owns them and is
  /// shared by every tensor borrowed from this reader.
  static GgufReader from_bytes(std::span<const std::uint8_t> bytes,
                               std::shared_ptr<const void> keep_alive = {});
  /// Parses a copy of `bytes` (convenient for tests).
  static GgufReader from_copy(std::vector<std::uint8_t> bytes);

  std::uint32_t version() const noexcept { return version_; }
  std::uint32_t alignment() const noexcept { return alignment_; }
  std::uint64_t data_offset() const noexcept { return data_offset_; }
  std::size_t file_size() const noexcept { return bytes_.size(); }

  // ---- metadata ----
  const std::vector<GgufKeyValue>& metadata() const noexcept { return kvs_; }
  bool has(std::string_view key) const noexcept { return find(key) != nullptr; }
  const GgufValue* find(std::string_view key) const noexcept;
  /// Throws Error(model_format) "missing metadata key '...'".
  const GgufValue& get(std::string_view key) const;

  std::uint32_t get_u32(std::string_view key) const;
  std::int32_t get_i32(std::string_view key) const;
  std::uint64_t get_u64(std::string_view key) const;
  std::int64_t get_i64(std::string_view key) const;
  float get_f32(std::string_view key) const;
  double get_f64(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  const std::string& get_string(std::string_view key) const;
  const std::vector<std::string>& get_string_array(std::string_view key) const;
  std::vector<float> get_f32_array(std::string_view key) const;
  std::vector<std::int32_t> get_i32_array(std::string_view key) const;
  std::vector<std::uint32_t> get_u32_array(std::string_view key) const;

  // Absent key -> nullopt; present with a wrong type -> Error(model_format).
  std::optional<std::uint32_t> find_u32(std::string_view key) const;
  std::optional<std::int32_t> find_i32(std::string_view key) const;
  std::optional<std::uint64_t> find_u64(std::string_view key) const;
  std::optional<float> find_f32(std::string_view key) const;
  std::optional<bool> find_bool(std::string_view key) const;
  std::optional<std::string> find_string(std::string_view key) const;

  // ---- tensors ----
  const std::vector<GgufTensorInfo>& tensors() const noexcept { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const noexcept;
  /// Throws Error(model_format) "missing tensor '...'".
  const GgufTensorInfo& tensor_info(std::string_view name) const;
  // `info` must come from this reader (else Error(invalid_argument)).
  /// The tensor's bytes, in place.
  std::span<const std::uint8_t> tensor_bytes(const GgufTensorInfo& info) const;
  /// A Tensor borrowing the data in place; keeps the file mapping alive.
  Tensor tensor(const GgufTensorInfo& info) const;
  Tensor tensor(std::string_view name) const { return tensor(tensor_info(name)); }

 private:
  GgufReader() = default;
  static GgufReader parse(std::span<const std::uint8_t> bytes, std::shared_ptr<const void> keep_alive,
                          std::string source);
  friend class GgufParser;

  std::span<const std::uint8_t> bytes_;
  std::shared_ptr<const void> keep_alive_;
  std::uint32_t version_ = 0;
  std::uint32_t alignment_ = kDefaultAlignment;
  std::uint64_t data_offset_ = 0;
  std::vector<GgufKeyValue> kvs_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, std::size_t, std::less<>> kv_index_;
  std::map<std::string, std::size_t, std::less<>> tensor_index_;
};

}  // namespace cnai
