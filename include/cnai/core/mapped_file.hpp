// MappedFile — a read-only memory mapping of a whole file.
// Model weights are used in place from this mapping; it stays valid for the
// lifetime of the object (share it through std::shared_ptr).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "cnai/core/error.hpp"

namespace cnai {

class MappedFile {
 public:
  /// Maps `path` read-only. Throws Error(not_found) if it cannot be opened,
  /// Error(invalid_argument) if it is not a regular file.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;

  const std::uint8_t* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::span<const std::uint8_t> bytes() const noexcept { return {data_, size_}; }
  const std::string& path() const noexcept { return path_; }

 private:
  void release() noexcept;
  std::string path_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace cnai
