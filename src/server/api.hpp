// Api — the server's routes as plain functions of (request, sink) -> reply:
// the OpenAI endpoints over a Backend and, with a JobService, Files,
// Batches and background Responses. Runs on compute threads; its executor()
// lets batch lines and background responses take the very same path. Also
// what the route files (api_*.cpp) share: the JSON reply and the clock.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cnai/api/backend.hpp"
#include "cnai/server/http_server.hpp"
#include "cnai/server/job_service.hpp"
#include "server/http_types.hpp"

namespace cnai::server {

/// `body` as a 200 application/json reply (the route files' common answer).
HttpReply json_reply(std::string body);
/// Seconds since the Unix epoch: the `created` field of OpenAI objects.
std::int64_t unix_now();

class Api {
 public:
  Api(Backend& backend, JobService* jobs, const ServerOptions& options);

  /// Never throws: errors become OpenAI error replies.
  HttpReply handle(const HttpRequest& request, ResponseSink& sink);
  /// Whether a route exists for the path (any method): 404 vs 405.
  bool knows(const std::string& method, const std::string& path, bool* path_only = nullptr) const;
  /// Runs an internal call (a batch line, a background response) as a POST.
  EndpointExecutor executor();

 private:
  using Params = std::vector<std::string>;  // the {id} segments of the path
  using Handler = std::function<HttpReply(const HttpRequest&, const Params&, ResponseSink&)>;
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{}" matches one segment
    Handler handler;
  };
  void add(std::string method, std::string_view pattern, Handler handler);
  const Route* match(const std::string& method, const std::string& path, Params& params, bool& path_known) const;

  void add_inference_routes();  // api_inference.cpp
  void add_chat_routes();       // api_chat.cpp
  void add_job_routes();        // api_jobs.cpp
  void add_messages_routes();   // api_messages.cpp (Anthropic's shape)
  /// Chat Completions with n > 1 choices (api_chat.cpp).
  HttpReply chat_choices(const HttpRequest& req, const ChatRequest& chat, int n, ResponseSink& sink);
  JobService& jobs() const;     // Error(not_found) when there is none
  std::string default_model() const;  // for requests that name none
  /// Priority (and tier "batch") of the server's own calls onto the request,
  /// and the API key's name as metadata "api_key" (the router's tag).
  static void mark_internal(const HttpRequest& req, ChatRequest& chat);
  /// Marks an inference request for the usage log (response null: it failed).
  static void note_usage(const HttpRequest& req, const ChatRequest& chat, const ChatResponse* response);

  Backend& backend_;
  JobService* jobs_;
  const ServerOptions& options_;
  std::vector<Route> routes_;
};

}  // namespace cnai::server
