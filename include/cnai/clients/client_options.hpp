// Settings shared by every cloud API client: timeouts, retries, client-side
// rate limits, TLS, proxy, prices. Plain values (std only) so hosts can fill
// them from config; from_env() reads the SDKs' environment conventions.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cnai/clients/pricing.hpp"

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
  /// "http://host:port" of a CONNECT proxy for https requests; empty: none.
  std::string https_proxy;
  /// Hosts that bypass the proxy, NO_PROXY syntax: comma-separated names or
  /// domain suffixes (".example.com" or "example.com"), "*" for all.
  std::string no_proxy;
  /// Prices for Usage::cost_usd (a copy of the built-in defaults unless set).
  /// Shared, and thread-safe: a host may update prices while clients run.
  std::shared_ptr<PriceTable> prices = std::make_shared<PriceTable>(PriceTable::with_defaults());

  /// The defaults plus the proxy from HTTPS_PROXY / https_proxy and NO_PROXY /
  /// no_proxy, as the official SDKs (httpx) read them.
  static ClientCommonOptions from_env();
};

}  // namespace cnai
