// Conformance against llama.cpp's vocab test vectors (ids from Hugging Face
// tokenizers): every ggml-vocab-*.gguf with its .inp/.out must match exactly.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cnai/text/tokenizer.hpp"
#include "tokenizer_test_data.hpp"

namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Test strings sit between lines reading __ggml_vocab_test__; the newline
// before each separator line is not part of the string.
std::vector<std::string> read_inputs(const std::filesystem::path& p) {
  std::vector<std::string> tests;
  std::istringstream in(read_all(p));
  std::string line, text;
  while (std::getline(in, line)) {
    if (line == "__ggml_vocab_test__") {
      if (!text.empty() && text.back() == '\n') text.pop_back();
      tests.push_back(text);
      text.clear();
    } else {
      text += line + "\n";
    }
  }
  return tests;
}

std::vector<std::vector<std::int32_t>> read_outputs(const std::filesystem::path& p) {
  std::vector<std::vector<std::int32_t>> out;
  std::istringstream in(read_all(p));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::vector<std::int32_t> ids;
    std::int32_t id = 0;
    while (ls >> id) ids.push_back(id);
    out.push_back(ids);
  }
  return out;
}

std::string show(const std::vector<std::int32_t>& ids) {
  std::string s;
  for (auto id : ids) s += std::to_string(id) + " ";
  return s;
}

std::string escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::vector<std::filesystem::path> vocab_files() {
  std::vector<std::filesystem::path> files;
  const auto dir = tokenizer_data_dir();
  if (!std::filesystem::is_directory(dir)) return files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (name.rfind("ggml-vocab-", 0) == 0 && e.path().extension() == ".gguf") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST_CASE("tokenizer conformance with llama.cpp vocab test vectors") {
  const auto files = vocab_files();
  if (files.empty()) {
    cnai::testing::missing_input("ggml-vocab-*.gguf under " + tokenizer_data_dir().string(),
                                 "set CNAI_SHARED_DATA_DIR to the shared data folder");
    return;
  }
  for (const auto& file : files) {
    const auto name = file.filename().string();
    CAPTURE(name);
    const auto tok = cnai::Tokenizer::from_gguf(file.string());
    const auto inputs = read_inputs(file.string() + ".inp");
    const auto expected = read_outputs(file.string() + ".out");
    REQUIRE(inputs.size() == expected.size());
    REQUIRE(!inputs.empty());
    // WordPiece lowercases and drops whitespace, so it cannot give the text back.
    const bool lossless = tok.vocab().model != "bert";
    std::size_t passed = 0, round_trips = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const auto ids = tok.encode(inputs[i], {.add_special = false, .parse_special = false});
      if (ids == expected[i]) {
        ++passed;
      } else {
        FAIL_CHECK("'" << escape(inputs[i]) << "'\n  expected " << show(expected[i]) << "\n  got      "
                       << show(ids));
      }
      if (lossless) {
        const std::string back = tok.decode(ids);
        if (back == inputs[i]) {
          ++round_trips;
        } else {
          FAIL_CHECK("decode of '" << escape(inputs[i]) << "' gave '" << escape(back) << "'");
        }
      }
    }
    std::printf("%-34s %3zu/%zu encode exact, %s\n", name.c_str(), passed, inputs.size(),
                lossless ? (std::to_string(round_trips) + " decode round trips").c_str()
                         : "decode lossy (lowercasing, accents, whitespace)");
  }
}
