// cnai — command-line front end. Subcommands register themselves (cmd_*.cpp).
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli.hpp"
#include "cnai/core/error.hpp"

namespace {

void usage() {
  std::fprintf(stderr, "usage: cnai <command> [options]\n\ncommands:\n");
  for (const auto& [name, cmd] : cnai::cli::commands()) {
    std::fprintf(stderr, "  %-10s %s\n", name.c_str(), cmd.summary.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help") {
    usage();
    return argc < 2 ? 2 : 0;
  }
  const auto& cmds = cnai::cli::commands();
  auto it = cmds.find(argv[1]);
  if (it == cmds.end()) {
    std::fprintf(stderr, "cnai: unknown command '%s'\n", argv[1]);
    usage();
    return 2;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    return it->second.run(args);
  } catch (const cnai::Error& e) {
    // "cnai run: error [invalid_argument]: temperature must be in [0, 2], got -1"
    std::fprintf(stderr, "cnai %s: error [%s]: %s\n", argv[1], std::string(cnai::to_string(e.code())).c_str(), e.what());
    return e.code() == cnai::ErrorCode::invalid_argument ? 2 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cnai %s: error: %s\n", argv[1], e.what());
    return 1;
  }
}
