// The environment as a host hands it to the library. cnai reads no environment
// variable of its own (only the clients' from_env() helpers, by their name):
// where a value may come from the environment — a router config's ${VAR}, the
// model cache directory — the host passes a lookup over its process
// environment, a secret store or a test's map.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace cnai {

/// A variable's value, or nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

}  // namespace cnai
