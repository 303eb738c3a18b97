// cuda_ops — private entry points of the CUDA kernels in cuda/ (no CUDA types).
// A CPU-only build defines only cuda_available(), which returns false.
#pragma once

namespace cnai::ops {

/// True when the library was built with CUDA and a device is present.
bool cuda_available() noexcept;

}  // namespace cnai::ops
