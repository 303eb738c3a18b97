// GgufBuilder — writes small hand-made GGUF files for tests and fuzz seeds.
// It encodes exactly what it is told (any counts, types, offsets), so tests can
// also build malformed files on purpose.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cnai::testing {

using Bytes = std::vector<std::uint8_t>;

/// One encoded metadata value: its GGUF type id and payload bytes.
struct GgufBuilderValue {
  std::uint32_t type = 0;
  Bytes payload;
};

namespace gv {
GgufBuilderValue u8(std::uint8_t v);
GgufBuilderValue i8(std::int8_t v);
GgufBuilderValue u16(std::uint16_t v);
GgufBuilderValue i16(std::int16_t v);
GgufBuilderValue u32(std::uint32_t v);
GgufBuilderValue i32(std::int32_t v);
GgufBuilderValue u64(std::uint64_t v);
GgufBuilderValue i64(std::int64_t v);
GgufBuilderValue f32(float v);
GgufBuilderValue f64(double v);
GgufBuilderValue boolean(bool v);
GgufBuilderValue str(std::string_view v);
/// A string whose length field says `declared_len` but only `actual` bytes follow.
GgufBuilderValue str_lying(std::uint64_t declared_len, std::string_view actual);
/// An array of `elements`, all of GGUF type `element_type`.
GgufBuilderValue array(std::uint32_t element_type, const std::vector<GgufBuilderValue>& elements);
/// An array header declaring `declared_count` elements followed by `payload` raw bytes.
GgufBuilderValue array_lying(std::uint32_t element_type, std::uint64_t declared_count, Bytes payload = {});
GgufBuilderValue f32_array(const std::vector<float>& v);
GgufBuilderValue i32_array(const std::vector<std::int32_t>& v);
GgufBuilderValue str_array(const std::vector<std::string>& v);
}  // namespace gv

struct GgufBuilderTensor {
  std::string name;
  std::uint32_t type = 0;               // GGML type id
  std::vector<std::uint64_t> dims;      // GGUF order (innermost first); size = n_dims
  Bytes data;                           // written at the tensor's offset
  std::optional<std::uint64_t> offset;  // relative to the data section; default: next aligned slot
};

class GgufBuilder {
 public:
  explicit GgufBuilder(std::uint32_t version = 3) : version_(version) {}

  GgufBuilder& magic(std::string_view m) { magic_ = std::string(m); return *this; }
  GgufBuilder& alignment(std::uint64_t a) { alignment_ = a; return *this; }  // padding only
  GgufBuilder& kv_count(std::uint64_t n) { kv_count_ = n; return *this; }
  GgufBuilder& tensor_count(std::uint64_t n) { tensor_count_ = n; return *this; }

  GgufBuilder& kv(std::string_view key, GgufBuilderValue value);
  GgufBuilder& tensor(GgufBuilderTensor t);
  /// An F32 tensor with the given row-major shape and values.
  GgufBuilder& f32_tensor(std::string_view name, const std::vector<std::uint64_t>& rowmajor_shape,
                          const std::vector<float>& values);

  Bytes build() const;

 private:
  std::uint32_t version_;
  std::string magic_ = "GGUF";
  std::uint64_t alignment_ = 32;
  std::optional<std::uint64_t> kv_count_, tensor_count_;
  std::vector<std::pair<std::string, GgufBuilderValue>> kvs_;
  std::vector<GgufBuilderTensor> tensors_;
};

/// A file in the temp directory holding `bytes`, deleted on destruction.
class TempFile {
 public:
  explicit TempFile(const Bytes& bytes, std::string_view suffix = ".gguf");
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace cnai::testing
