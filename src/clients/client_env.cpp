#include "clients/client_env.hpp"

#include <cstdlib>

#include "cnai/clients/client_options.hpp"

namespace cnai::clients {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::move(fallback);
}

std::string first_env(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (std::string v = env_or(name); !v.empty()) return v;
  }
  return {};
}

}  // namespace cnai::clients

namespace cnai {

ClientCommonOptions ClientCommonOptions::from_env() {
  ClientCommonOptions o;
  o.https_proxy = clients::first_env({"HTTPS_PROXY", "https_proxy"});
  o.no_proxy = clients::first_env({"NO_PROXY", "no_proxy"});
  return o;
}

}  // namespace cnai
