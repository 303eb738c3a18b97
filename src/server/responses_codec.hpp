// The OpenAI Responses API on the server side: a request body in
// (instructions, input as text or items, function tools and their outputs)
// as a ChatRequest; a ChatResponse out as a Response object; a stream of
// ChatChunks out as Responses SSE events (response.created ...
// response.output_text.delta ... response.completed).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cnai/api/types.hpp"

namespace cnai::server {

struct ResponsesRequest {
  ChatRequest chat;
  bool background = false;
  std::string metadata_json = "{}";
  std::string instructions;  // as given, echoed in the response
};

/// Errors: invalid_argument naming the field; unsupported for input item
/// types cnai does not serve (files, images by id, built-in tools).
ResponsesRequest responses_request_from_json(std::string_view body);

/// A finished response as the Response object.
std::string to_responses_json(const ChatResponse& response, const ResponsesRequest& request, std::string_view id,
                              std::int64_t created_at);

/// Writes a Responses event stream from ChatChunks.
class ResponsesStreamWriter {
 public:
  ResponsesStreamWriter(const ResponsesRequest& request, std::string id, std::int64_t created_at);
  /// response.created and response.in_progress (and the message item's start).
  std::string begin();
  /// A text delta (tool-call deltas are gathered for the end).
  std::string chunk(const ChatChunk& chunk);
  /// The items' done events and response.completed with the full response.
  std::string end(const ChatResponse& response);
  /// response.failed with the error.
  std::string fail(std::string_view error_json);

 private:
  std::string event(std::string_view type, std::string data_json_without_braces);
  const ResponsesRequest& request_;
  std::string id_, item_id_;
  std::int64_t created_at_;
  std::string text_;
  int sequence_ = 0;
};

}  // namespace cnai::server
