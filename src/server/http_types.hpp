// What the server's route handlers see: a parsed request, a reply, and a
// sink for streamed replies — plain types, so handlers are written and
// tested without Beast, and run on compute threads.
#pragma once

#include <optional>

#include "cnai/server/usage_log.hpp"
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cnai::server {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query
  std::string query;   // after '?', undecoded
  HeaderList headers;  // names lower-case
  std::string body;
  std::string api_key_name;  // the authenticated key, when keys are configured
  /// Set for calls the server makes itself (batch lines, background
  /// responses): the ChatRequest priority they run at.
  int priority = 0;
  /// Filled by inference handlers (model, backend, tokens, cost); the
  /// router adds status, key and latency and hands it to the usage log.
  mutable std::optional<UsageRecord> usage;

  std::optional<std::string> header(std::string_view lower_name) const;
  /// A query parameter's (percent-decoded) value.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  HeaderList headers;
  std::string body;
};

/// A streamed reply (SSE): the session implements it for its connection.
/// Thread-safe; called from the compute thread that runs the handler.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  /// Sends the head (chunked). Called at most once, before write().
  virtual void start_stream(int status, std::string content_type, HeaderList headers) = 0;
  /// Queues bytes for the client; waits while too many are unsent (a slow
  /// reader holds its generation back). False once the client is gone.
  virtual bool write(std::string data) = 0;
  virtual bool streaming() const = 0;
  /// Requested when the client disconnects (or the server stops).
  virtual std::stop_token stop_token() const = 0;
};

}  // namespace cnai::server
