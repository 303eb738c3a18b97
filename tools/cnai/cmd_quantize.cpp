// `cnai quantize`: raw float32 rows -> rows of a GGUF block type (or back with
// --dequantize), with cnai's reference quantizers. For tools and tests that
// build GGUF files elsewhere (tests/reference writes tiny K-quant models with
// it and checks the blocks with gguf-py's dequantizers).
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "cnai/core/error.hpp"
#include "cnai/ops/quantize.hpp"
#include "cnai/tensor/dtype.hpp"

namespace {

cnai::DType type_named(const std::string& name) {
  for (std::uint32_t id = 0; id < 64; ++id)
    if (const auto tr = cnai::dtype_traits(id); tr && tr->name == name) return static_cast<cnai::DType>(id);
  throw cnai::Error(cnai::ErrorCode::invalid_argument, "--type: unknown type '" + name + "'");
}

int run_quantize(const std::vector<std::string>& argv) {
  const cnai::cli::Args args(argv, {"--dequantize"});
  const auto type = args.get("--type"), in = args.get("--in"), out = args.get("--out");
  const std::int64_t cols = args.get_int("--cols", 0);
  if (!type || !in || !out || cols <= 0) {
    std::fprintf(stderr, "usage: cnai quantize --type Q4_K --cols K --in ROWS.f32 --out ROWS.bin [--dequantize]\n");
    return 2;
  }
  const cnai::DType t = type_named(*type);
  const bool back = args.has("--dequantize");
  const std::size_t float_row = static_cast<std::size_t>(cols) * 4, block_row = cnai::row_bytes(t, cols);
  const std::string bytes = cnai::cli::read_file(*in);
  const std::size_t in_row = back ? block_row : float_row, out_row = back ? float_row : block_row;
  if (bytes.size() % in_row != 0)
    throw cnai::Error(cnai::ErrorCode::invalid_argument, *in + ": " + std::to_string(bytes.size()) +
                                                             " bytes are not whole rows of " + std::to_string(in_row));
  const std::size_t rows = bytes.size() / in_row;
  std::vector<char> result(rows * out_row);
  for (std::size_t r = 0; r < rows; ++r) {
    const char* src = bytes.data() + r * in_row;
    char* dst = result.data() + r * out_row;
    if (back) cnai::ops::dequantize_row(t, src, reinterpret_cast<float*>(dst), cols);
    else cnai::ops::quantize_row(t, reinterpret_cast<const float*>(src), dst, cols);
  }
  std::ofstream os(*out, std::ios::binary);
  os.write(result.data(), static_cast<std::streamsize>(result.size()));
  if (!os) throw cnai::Error(cnai::ErrorCode::invalid_argument, "cannot write " + *out);
  return 0;
}

const bool registered = cnai::cli::register_command(
    {"quantize", "quantize raw float32 rows into a GGUF block type (--dequantize: back)", &run_quantize});

}  // namespace
