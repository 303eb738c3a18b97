// The shared vocabulary: request and response types shaped like the OpenAI
// Chat Completions and Embeddings schemas. Every layer (engine, clients,
// router, server, Python) speaks these; JSON/SSE codecs live at the edges.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cnai {

enum class Role { system, developer, user, assistant, tool };

struct ToolCall {
  std::string id;
  std::string type = "function";
  std::string name;
  std::string arguments;  // JSON text, as the model produced it
};

/// One part of a multi-part message content (text or image URL).
struct ContentPart {
  std::string type = "text";  // "text" | "image_url"
  std::string text;
  std::string image_url;
};

struct Message {
  Role role = Role::user;
  std::string content;              // plain text content
  std::vector<ContentPart> parts;   // used instead of `content` when non-empty
  std::optional<std::string> name;
  std::vector<ToolCall> tool_calls;           // assistant messages
  std::optional<std::string> tool_call_id;    // tool messages

  static Message system(std::string text) { return make(Role::system, std::move(text)); }
  static Message user(std::string text) { return make(Role::user, std::move(text)); }
  static Message assistant(std::string text) { return make(Role::assistant, std::move(text)); }
  static Message make(Role role, std::string text) {
    Message m;
    m.role = role;
    m.content = std::move(text);
    return m;
  }
};

struct Tool {
  std::string type = "function";
  std::string name;
  std::string description;
  std::string parameters_json = "{}";  // JSON Schema text
};

struct ResponseFormat {
  std::string type = "text";       // "text" | "json_object" | "json_schema"
  std::string json_schema;         // schema JSON text when type == json_schema
  std::string schema_name;
  bool strict = false;
};

/// Every field defaulted, so designated initialisers may name any subset.
struct SamplingParams {
  std::optional<float> temperature{};
  std::optional<float> top_p{};
  std::optional<int> top_k{};
  std::optional<float> min_p{};
  std::optional<float> repetition_penalty{};
  std::optional<float> frequency_penalty{};
  std::optional<float> presence_penalty{};
  std::optional<std::uint64_t> seed{};
  std::map<std::int32_t, float> logit_bias{};
};

struct ChatRequest {
  std::string model;
  std::vector<Message> messages;
  SamplingParams sampling;
  std::optional<int> max_tokens;
  std::vector<std::string> stop;
  bool stream = false;
  /// stream_options.include_usage: a server's stream ends with a usage-only chunk.
  bool stream_include_usage = false;
  std::optional<ResponseFormat> response_format;
  std::vector<Tool> tools;
  std::optional<std::string> tool_choice;  // "auto" | "none" | "required" | a function name
  std::optional<std::string> user;
  // Routing metadata (not sent upstream).
  int priority = 0;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::map<std::string, std::string> metadata;
};

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens = 0;
  std::int64_t cached_prompt_tokens = 0;
  double cost_usd = 0.0;  // 0 when no price is known
};

struct Timings {
  double time_to_first_token_ms = 0.0;  // from the call, queue_ms included
  double total_ms = 0.0;
  double queue_ms = 0.0;                // waiting for the engine before the prompt was evaluated
  double prompt_tokens_per_s = 0.0;
  double completion_tokens_per_s = 0.0;
};

enum class FinishReason { none, stop, length, tool_calls, content_filter, error };

struct Choice {
  int index = 0;
  Message message;  // role assistant
  FinishReason finish_reason = FinishReason::none;
  /// Local engine: every sampled token id, including a final end-of-turn token
  /// that is not part of the text.
  std::vector<std::int32_t> token_ids;
};

/// One deployment a router tried for a request, in the order tried.
struct RouteAttempt {
  std::string deployment;
  std::string error_code;   // ErrorCode name ("rate_limited"); empty: this one served
  std::string error;        // the error's own message (the upstream's text included)
  int upstream_status = 0;  // HTTP status from a remote deployment; 0: none
  double duration_ms = 0;
};

/// How a router served a response (ChatResponse::route; unset when no router did).
struct RouteInfo {
  std::string alias;       // what the request named
  std::string deployment;  // what served it
  std::vector<RouteAttempt> attempts;  // every attempt, failed ones first; the last one served
  std::vector<std::string> skipped;    // "name: why" for deployments not tried (filters, cooldown, limits)
  double router_overhead_us = 0;       // the router's own time, backends' time excluded
  double estimated_cost_usd = 0;       // the pre-call estimate (budgets)
  bool cache_hit = false;
  /// A stream joined after a failure (opt-in `continue`): the text before
  /// `joined_at` (bytes of content) came from `joined_from`, which failed with
  /// `join_reason`; the rest from `deployment`. Empty joined_from: not joined.
  std::string joined_from;
  std::size_t joined_at = 0;
  std::string join_reason;
};

struct ChatResponse {
  std::string id;
  std::string model;
  std::int64_t created = 0;  // unix seconds
  std::vector<Choice> choices;
  Usage usage;
  Timings timings;
  std::string backend;  // which backend served it ("local", "openai", ...)
  std::optional<RouteInfo> route;  // set by a router
};

/// A streamed piece of a response. Deltas concatenate to the full message.
struct ChatChunk {
  std::string id;
  std::string model;
  int index = 0;
  std::string delta_content;
  std::optional<Role> delta_role;
  /// Tool-call fragments: `index` in ToolCallDelta picks the call; name and
  /// id arrive once, arguments in pieces.
  struct ToolCallDelta {
    int index = 0;
    std::string id;
    std::string name;
    std::string arguments;
  };
  std::vector<ToolCallDelta> tool_calls;
  FinishReason finish_reason = FinishReason::none;
  std::optional<Usage> usage;  // the last chunk, when usage is reported
  std::vector<std::int32_t> token_ids;  // local engine: ids behind delta_content
};

/// Return false to cancel the stream.
using ChunkCallback = std::function<bool(const ChatChunk&)>;

struct EmbeddingRequest {
  std::string model;
  std::vector<std::string> input;
  std::optional<int> dimensions;
  std::string encoding_format = "float";
  std::optional<std::string> user;
  /// Local models: cut an input longer than the model's context to fit instead
  /// of failing with context_overflow (not sent upstream).
  bool truncate = false;
  // Routing metadata (not sent upstream), as ChatRequest's.
  int priority = 0;
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

struct EmbeddingResponse {
  std::string model;
  std::vector<std::vector<float>> data;  // one vector per input, in order
  Usage usage;
  std::string backend;
};

std::string_view to_string(Role r) noexcept;
std::string_view to_string(FinishReason r) noexcept;

}  // namespace cnai
