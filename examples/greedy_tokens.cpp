// A host application embedding cnai at the token level: load a GGUF model,
// feed a prompt, and greedily extend it, printing token ids and pieces.
// Usage: cnai_example_greedy_tokens MODEL.gguf "prompt text" [n_tokens]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/model/model.hpp"
#include "cnai/text/tokenizer.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.gguf \"prompt\" [n_tokens]\n", argv[0]);
    return 2;
  }
  try {
    auto model = cnai::Model::load(argv[1], {.threads = 0});
    auto tokenizer = cnai::Tokenizer::from_gguf(std::string(argv[1]));
    cnai::Context ctx(model, {.n_ctx = 512});
    std::vector<std::int32_t> tokens = tokenizer.encode(argv[2]);
    const int n = argc > 3 ? std::atoi(argv[3]) : 16;
    std::printf("%s", argv[2]);
    auto logits = ctx.eval(tokens);
    for (int i = 0; i < n; ++i) {
      const auto next = static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      if (tokenizer.is_eog(next)) break;
      std::printf("%s", tokenizer.token_to_piece(next).c_str());
      std::fflush(stdout);
      const std::int32_t one[] = {next};
      logits = ctx.eval(one);
    }
    std::printf("\n");
  } catch (const cnai::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
