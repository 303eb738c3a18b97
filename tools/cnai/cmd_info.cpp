// `cnai info [MODEL] [--json]`: a GGUF file's metadata and tensor table.
// Long arrays are summarised as element type + length, long strings truncated.
#include <boost/json.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"
#include "cnai/core/error.hpp"
#include "cnai/gguf/gguf.hpp"

namespace {

constexpr std::size_t kMaxString = 200;
constexpr std::size_t kMaxInlineArray = 8;  // longer arrays are summarised

// At most kMaxString bytes, cut on a UTF-8 character boundary.
std::string truncated(const std::string& s) {
  if (s.size() <= kMaxString) return s;
  std::size_t n = kMaxString;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  std::string out = s.substr(0, n);
  return out.append("... (").append(std::to_string(s.size())).append(" bytes)");
}

boost::json::value to_json(const cnai::GgufValue& v) {
  using cnai::GgufType;
  if (const auto* a = v.to_array()) {
    if (a->size > kMaxInlineArray || a->element_type == GgufType::array) {
      return {{"type", "array"}, {"element_type", cnai::to_string(a->element_type)}, {"length", a->size}};
    }
    boost::json::array out;
    for (std::size_t i = 0; i < a->size; ++i) out.push_back(to_json(a->element(i)));
    return out;
  }
  if (const auto* s = v.to_string()) return boost::json::string(truncated(*s));
  if (auto b = v.to_bool()) return *b;
  if (auto f = v.to_f64()) return *f;
  if (auto i = v.to_i64()) return *i;
  return *v.to_u64();
}

// One line of text: JSON's rendering (quotes and escapes strings, so newlines in
// a chat template stay on one line) with the same summaries.
std::string to_text(const cnai::GgufValue& v) {
  const auto* a = v.to_array();
  if (a && (a->size > kMaxInlineArray || a->element_type == cnai::GgufType::array)) return v.describe();
  return boost::json::serialize(to_json(v));
}

boost::json::array shape_json(const cnai::Shape& s) {
  boost::json::array out;
  for (int i = 0; i < s.rank(); ++i) out.push_back(s[i]);
  return out;
}

void print_json(const std::string& path, const cnai::GgufReader& r) {
  boost::json::object meta;
  for (const auto& kv : r.metadata()) meta[kv.key] = to_json(kv.value);
  boost::json::array tensors;
  for (const auto& t : r.tensors()) {
    tensors.push_back({{"name", t.name}, {"type", cnai::to_string(t.dtype)}, {"shape", shape_json(t.shape)},
                       {"offset", t.offset}, {"bytes", t.nbytes}});
  }
  boost::json::object doc{{"path", path},           {"version", r.version()},      {"alignment", r.alignment()},
                          {"data_offset", r.data_offset()}, {"file_size", r.file_size()}, {"metadata", meta},
                          {"tensors", tensors}};
  std::printf("%s\n", boost::json::serialize(doc).c_str());
}

void print_text(const std::string& path, const cnai::GgufReader& r) {
  std::printf("%s: GGUF v%u, %zu bytes, alignment %u, data at %llu\n", path.c_str(), r.version(), r.file_size(),
              r.alignment(), static_cast<unsigned long long>(r.data_offset()));
  std::printf("\nmetadata (%zu keys):\n", r.metadata().size());
  for (const auto& kv : r.metadata()) {
    std::printf("  %-40s %-8s %s\n", kv.key.c_str(), std::string(cnai::to_string(kv.value.type())).c_str(),
                to_text(kv.value).c_str());
  }
  std::uint64_t total = 0;
  std::printf("\ntensors (%zu):\n  %-40s %-6s %-20s %12s\n", r.tensors().size(), "name", "type", "shape", "bytes");
  for (const auto& t : r.tensors()) {
    total += t.nbytes;
    std::printf("  %-40s %-6s %-20s %12llu\n", t.name.c_str(), std::string(cnai::to_string(t.dtype)).c_str(),
                t.shape.str().c_str(), static_cast<unsigned long long>(t.nbytes));
  }
  std::printf("  total %llu bytes\n", static_cast<unsigned long long>(total));
}

int run_info(const std::vector<std::string>& argv) {
  const cnai::cli::Args args(argv, {"--json"});
  if (args.positionals().size() > 1) {
    throw cnai::Error(cnai::ErrorCode::invalid_argument, "usage: cnai info [MODEL] [--json]");
  }
  const std::string path = args.positionals().empty() ? cnai::cli::default_model_path() : args.positionals()[0];
  const auto reader = cnai::GgufReader::open(path);
  if (args.has("--json")) {
    print_json(path, reader);
  } else {
    print_text(path, reader);
  }
  return 0;
}

const bool registered =
    cnai::cli::register_command({"info", "print a GGUF model's metadata and tensors", &run_info});

}  // namespace
