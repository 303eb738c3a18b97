// `cnai tokenize [-m MODEL] TEXT [--json] [--special] [--no-bos]`: shows the
// token ids and pieces a model's tokenizer gives for TEXT.
#include <boost/json.hpp>

#include <cstdio>
#include <string>

#include "cli.hpp"
#include "cnai/core/error.hpp"
#include "cnai/text/tokenizer.hpp"

namespace {

// A piece as readable text: control bytes and bytes that are not (yet) whole
// UTF-8 characters are shown as \xNN.
std::string printable(const std::string& piece) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < piece.size();) {
    const auto c = static_cast<unsigned char>(piece[i]);
    std::size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool whole = len > 0 && i + len <= piece.size();
    for (std::size_t k = 1; whole && k < len; ++k) whole = (static_cast<unsigned char>(piece[i + k]) & 0xC0) == 0x80;
    if (whole && (c >= 0x20 && c != 0x7F)) {
      out.append(piece, i, len);
      i += len;
    } else if (c == '\n') {
      out += "\\n";
      ++i;
    } else if (c == '\t') {
      out += "\\t";
      ++i;
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
      ++i;
    }
  }
  return out;
}

int run_tokenize(const std::vector<std::string>& argv) {
  const cnai::cli::Args args(argv, {"--json", "--special", "--no-bos"});
  if (args.positionals().size() != 1) {
    throw cnai::Error(cnai::ErrorCode::invalid_argument,
                      "usage: cnai tokenize [-m MODEL] TEXT [--json] [--special] [--no-bos]");
  }
  const std::string model = cnai::cli::model_path(args);
  const auto tokenizer = cnai::Tokenizer::from_gguf(model);
  const cnai::EncodeOptions options{.add_special = !args.has("--no-bos"), .parse_special = args.has("--special")};
  const auto ids = tokenizer.encode(args.positionals()[0], options);
  if (args.has("--json")) {
    boost::json::array jids, jpieces;
    for (auto id : ids) {
      jids.push_back(id);
      jpieces.push_back(boost::json::string(printable(tokenizer.token_to_piece(id))));
    }
    const boost::json::object out{{"ids", jids}, {"pieces", jpieces}, {"count", ids.size()}};
    std::printf("%s\n", boost::json::serialize(out).c_str());
    return 0;
  }
  for (auto id : ids) std::printf("%6d  '%s'\n", id, printable(tokenizer.token_to_piece(id)).c_str());
  std::printf("%zu tokens\n", ids.size());
  return 0;
}

const bool registered =
    cnai::cli::register_command({"tokenize", "show the tokens of a text for a model", &run_tokenize});

}  // namespace
