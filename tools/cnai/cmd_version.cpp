#include <cstdio>

#include "cli.hpp"
#include "cnai/version.hpp"

namespace {

int run_version(const std::vector<std::string>&) {
  std::printf("cnai %s\n", CNAI_VERSION_STRING);
  return 0;
}

const bool registered = cnai::cli::register_command({"version", "print the version", &run_version});

}  // namespace
