// `cnai logits`: evaluates a token list in one batch and writes raw
// little-endian float32 logits (last position, or every position with --all).
#include <algorithm>
#include <climits>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "cli.hpp"
#include "cnai/core/error.hpp"
#include "cnai/model/model.hpp"

namespace {

std::vector<std::int32_t> parse_tokens(std::string text) {
  for (char& c : text)
    if (c == ',') c = ' ';
  std::istringstream in(text);
  std::vector<std::int32_t> ids;
  std::string word;
  while (in >> word) {
    try {
      std::size_t pos = 0;
      const long long v = std::stoll(word, &pos);
      if (pos != word.size() || v < INT32_MIN || v > INT32_MAX) throw std::invalid_argument("range");
      ids.push_back(static_cast<std::int32_t>(v));
    } catch (const std::exception&) {
      throw cnai::Error(cnai::ErrorCode::invalid_argument, "--tokens: '" + word + "' is not a token id");
    }
  }
  if (ids.empty()) throw cnai::Error(cnai::ErrorCode::invalid_argument, "--tokens: no token ids given");
  return ids;
}

int run_logits(const std::vector<std::string>& argv) {
  const cnai::cli::Args args(argv, {"--all"});
  const auto tokens_text = args.get("--tokens");
  const auto out_path = args.get("--out");
  if (!tokens_text || !out_path) {
    std::fprintf(stderr, "usage: cnai logits [-m MODEL] [-t N] --tokens \"1 2 3\" --out FILE [--all]\n");
    return 2;
  }
  const std::vector<std::int32_t> tokens = parse_tokens(*tokens_text);
  cnai::ModelOptions mo;
  mo.threads = static_cast<int>(args.get_int("-t", 0));
  cnai::cli::apply_model_env(mo);
  auto model = cnai::Model::load(args.get_or("-m", cnai::cli::default_model_path()), mo);
  const bool all = args.has("--all");
  cnai::ContextOptions co;
  co.n_ctx = std::max<int>(static_cast<int>(tokens.size()), model->options().n_ctx);
  co.n_batch = static_cast<int>(tokens.size());  // one batch, as the reference compares
  cnai::Context ctx(model, co);
  ctx.eval(tokens, all);
  const std::span<const float> logits = all ? ctx.all_logits() : ctx.logits();
  std::ofstream out(*out_path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(logits.data()), static_cast<std::streamsize>(logits.size_bytes()));
  if (!out) throw cnai::Error(cnai::ErrorCode::invalid_argument, "cannot write " + *out_path);
  std::fprintf(stderr, "logits: [%zu x %d] float32 -> %s\n", all ? tokens.size() : std::size_t{1}, ctx.n_vocab(),
               out_path->c_str());
  return 0;
}

const bool registered = cnai::cli::register_command(
    {"logits", "write raw float32 logits of a token list (--all: every position)", &run_logits});

}  // namespace
