#include "gguf_builder.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace cnai::testing {

namespace {

// resize + memcpy rather than insert(): GCC 12 warns falsely on small inserts.
void append(Bytes& out, const void* p, std::size_t n) {
  if (n == 0) return;
  const std::size_t at = out.size();
  out.resize(at + n);
  std::memcpy(out.data() + at, p, n);
}

template <class T>
void put(Bytes& out, T v) {
  append(out, &v, sizeof(T));
}

template <class T>
GgufBuilderValue scalar(std::uint32_t type, T v) {
  GgufBuilderValue r{type, {}};
  put(r.payload, v);
  return r;
}

void put_string(Bytes& out, std::string_view s) {
  put<std::uint64_t>(out, s.size());
  append(out, s.data(), s.size());
}

}  // namespace

namespace gv {
GgufBuilderValue u8(std::uint8_t v) { return scalar(0, v); }
GgufBuilderValue i8(std::int8_t v) { return scalar(1, v); }
GgufBuilderValue u16(std::uint16_t v) { return scalar(2, v); }
GgufBuilderValue i16(std::int16_t v) { return scalar(3, v); }
GgufBuilderValue u32(std::uint32_t v) { return scalar(4, v); }
GgufBuilderValue i32(std::int32_t v) { return scalar(5, v); }
GgufBuilderValue f32(float v) { return scalar(6, v); }
GgufBuilderValue boolean(bool v) { return scalar<std::uint8_t>(7, v ? 1 : 0); }
GgufBuilderValue u64(std::uint64_t v) { return scalar(10, v); }
GgufBuilderValue i64(std::int64_t v) { return scalar(11, v); }
GgufBuilderValue f64(double v) { return scalar(12, v); }

GgufBuilderValue str(std::string_view v) {
  GgufBuilderValue r{8, {}};
  put_string(r.payload, v);
  return r;
}

GgufBuilderValue str_lying(std::uint64_t declared_len, std::string_view actual) {
  GgufBuilderValue r{8, {}};
  put<std::uint64_t>(r.payload, declared_len);
  append(r.payload, actual.data(), actual.size());
  return r;
}

GgufBuilderValue array(std::uint32_t element_type, const std::vector<GgufBuilderValue>& elements) {
  GgufBuilderValue r{9, {}};
  put<std::uint32_t>(r.payload, element_type);
  put<std::uint64_t>(r.payload, elements.size());
  for (const auto& e : elements) {
    if (e.type != element_type) throw std::logic_error("GgufBuilder: array element of another type");
    append(r.payload, e.payload.data(), e.payload.size());
  }
  return r;
}

GgufBuilderValue array_lying(std::uint32_t element_type, std::uint64_t declared_count, Bytes payload) {
  GgufBuilderValue r{9, {}};
  put<std::uint32_t>(r.payload, element_type);
  put<std::uint64_t>(r.payload, declared_count);
  append(r.payload, payload.data(), payload.size());
  return r;
}

GgufBuilderValue f32_array(const std::vector<float>& v) {
  std::vector<GgufBuilderValue> e;
  for (float x : v) e.push_back(f32(x));
  return array(6, e);
}
GgufBuilderValue i32_array(const std::vector<std::int32_t>& v) {
  std::vector<GgufBuilderValue> e;
  for (auto x : v) e.push_back(i32(x));
  return array(5, e);
}
GgufBuilderValue str_array(const std::vector<std::string>& v) {
  std::vector<GgufBuilderValue> e;
  for (const auto& x : v) e.push_back(str(x));
  return array(8, e);
}
}  // namespace gv

GgufBuilder& GgufBuilder::kv(std::string_view key, GgufBuilderValue value) {
  kvs_.emplace_back(std::string(key), std::move(value));
  return *this;
}

GgufBuilder& GgufBuilder::tensor(GgufBuilderTensor t) {
  tensors_.push_back(std::move(t));
  return *this;
}

GgufBuilder& GgufBuilder::f32_tensor(std::string_view name, const std::vector<std::uint64_t>& rowmajor_shape,
                                     const std::vector<float>& values) {
  GgufBuilderTensor t;
  t.name = std::string(name);
  t.type = 0;
  t.dims.assign(rowmajor_shape.rbegin(), rowmajor_shape.rend());
  t.data.resize(values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(t.data.data(), values.data(), t.data.size());
  return tensor(std::move(t));
}

Bytes GgufBuilder::build() const {
  Bytes out(magic_.begin(), magic_.end());
  put<std::uint32_t>(out, version_);
  put<std::uint64_t>(out, tensor_count_.value_or(tensors_.size()));
  put<std::uint64_t>(out, kv_count_.value_or(kvs_.size()));
  for (const auto& [key, value] : kvs_) {
    put_string(out, key);
    put<std::uint32_t>(out, value.type);
    append(out, value.payload.data(), value.payload.size());
  }
  const auto align_up = [&](std::uint64_t x) { return (x + alignment_ - 1) / alignment_ * alignment_; };
  std::vector<std::uint64_t> offsets;
  std::uint64_t next = 0;
  for (const auto& t : tensors_) {
    const std::uint64_t off = t.offset.value_or(align_up(next));
    offsets.push_back(off);
    if (!t.data.empty()) next = std::max(next, off + t.data.size());  // empty data: header-only tensor
    put_string(out, t.name);
    put<std::uint32_t>(out, static_cast<std::uint32_t>(t.dims.size()));
    for (auto d : t.dims) put<std::uint64_t>(out, d);
    put<std::uint32_t>(out, t.type);
    put<std::uint64_t>(out, off);
  }
  if (tensors_.empty()) return out;
  const std::uint64_t data_start = align_up(out.size());
  out.resize(data_start + next, 0);
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    const auto& d = tensors_[i].data;
    std::copy(d.begin(), d.end(), out.begin() + static_cast<std::ptrdiff_t>(data_start + offsets[i]));
  }
  return out;
}

TempFile::TempFile(const Bytes& bytes, std::string_view suffix) {
  static std::atomic<int> counter{0};
  path_ = (std::filesystem::temp_directory_path() /
           ("cnai_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + std::string(suffix)))
              .string();
  std::ofstream f(path_, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path_);
}

TempFile::~TempFile() {
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

}  // namespace cnai::testing
