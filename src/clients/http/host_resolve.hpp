// Host-name resolution that obeys the connect timeout and cancellation:
// getaddrinfo cannot be interrupted, so it runs on a helper thread and the
// caller stops waiting at the deadline or the cancel (the thread finishes on
// its own and its result is dropped).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "clients/http/connection.hpp"

namespace cnai::clients::detail {

/// IP address strings for `host`, from `resolver` or the system's. Errors:
/// timeout when phase.deadline passes first (naming phase.timeout_name),
/// cancelled when `cancel` fires, unavailable when resolution fails.
std::vector<std::string> resolve_host(const std::string& host, std::uint16_t port, const Phase& phase,
                                      const CancelToken* cancel, const HostResolver& resolver,
                                      const std::string& origin);

}  // namespace cnai::clients::detail
