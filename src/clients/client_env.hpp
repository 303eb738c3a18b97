// The environment, read only by the clients' from_env() helpers (the SDKs'
// conventions for keys, base URLs and proxies); nothing else in the library
// looks at it.
#pragma once

#include <initializer_list>
#include <string>

namespace cnai::clients {

/// $name when set and non-empty, else `fallback`.
std::string env_or(const char* name, std::string fallback = {});

/// The first of `names` that is set and non-empty, else "".
std::string first_env(std::initializer_list<const char*> names);

}  // namespace cnai::clients
