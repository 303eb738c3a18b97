// Settings shared by every cloud API client: timeouts, retries, client-side
// rate limits. Plain values (std only) so hosts can fill them from config.
#pragma once

#include <chrono>
#include <string>

namespace cnai {

struct ClientTimeouts {
  std::chrono::milliseconds connect{10000};     // resolve + TCP + TLS
  std::chrono::milliseconds first_byte{600000}; // request sent -> response head
  std::chrono::milliseconds total{600000};      // whole call, one attempt
  std::chrono::milliseconds idle_read{120000};  // between two stream reads
};

struct ClientRetries {
  int max_retries = 2;  // retries after the first attempt (the SDKs' default)
  std::chrono::milliseconds initial_delay{500};
  std::chrono::milliseconds max_delay{8000};
};

/// Client-side token buckets; 0 means unlimited.
struct ClientRateLimits {
  double requests_per_minute = 0;
  double tokens_per_minute = 0;
};

struct ClientCommonOptions {
  ClientTimeouts timeouts;
  ClientRetries retries;
  ClientRateLimits rate_limits;
  std::string ca_file;  // empty: the system CA store
  bool verify_peer = true;
};

}  // namespace cnai
