#include <cstdio>

#include "cli.hpp"

namespace {

int run_version(const std::vector<std::string>&) {
  std::printf("cnai 0.1.0\n");
  return 0;
}

const bool registered = cnai::cli::register_command({"version", "print the version", &run_version});

}  // namespace
