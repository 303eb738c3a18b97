// Backend: the checks every backend shares, then the implementation's call.
#include "cnai/api/backend.hpp"

#include <cmath>
#include <string>

namespace cnai {
namespace {

[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw Error(ErrorCode::invalid_argument, field + " " + why);
}

std::string num(double v) {
  std::string s = std::to_string(v);
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

void in_range(const char* field, const std::optional<float>& v, double lo, double hi, bool lo_open = false) {
  if (!v) return;
  const double x = *v;
  if (!std::isfinite(x) || x > hi || x < lo || (lo_open && x == lo))
    bad(field, "must be in " + std::string(lo_open ? "(" : "[") + num(lo) + ", " + num(hi) + "], got " + num(x));
}

}  // namespace

std::string_view to_string(HealthStatus s) noexcept {
  switch (s) {
    case HealthStatus::healthy: return "healthy";
    case HealthStatus::degraded: return "degraded";
    case HealthStatus::unavailable: return "unavailable";
  }
  return "unknown";
}

void validate_chat_request(const ChatRequest& r) {
  if (r.messages.empty()) bad("messages", "must hold at least one message");
  const SamplingParams& s = r.sampling;
  in_range("temperature", s.temperature, 0.0, 2.0);
  in_range("top_p", s.top_p, 0.0, 1.0);
  in_range("min_p", s.min_p, 0.0, 1.0);
  in_range("frequency_penalty", s.frequency_penalty, -2.0, 2.0);
  in_range("presence_penalty", s.presence_penalty, -2.0, 2.0);
  if (s.repetition_penalty && !(std::isfinite(*s.repetition_penalty) && *s.repetition_penalty > 0))
    bad("repetition_penalty", "must be > 0, got " + num(*s.repetition_penalty));
  if (s.top_k && *s.top_k < 0) bad("top_k", "must be >= 0 (0 disables it), got " + std::to_string(*s.top_k));
  for (const auto& [token, bias] : s.logit_bias) {
    if (!std::isfinite(bias) || bias < -100 || bias > 100)
      bad("logit_bias", "values must be in [-100, 100], got " + num(bias) + " for token " + std::to_string(token));
  }
  if (r.max_tokens && *r.max_tokens < 1) bad("max_tokens", "must be at least 1, got " + std::to_string(*r.max_tokens));
  for (std::size_t i = 0; i < r.stop.size(); ++i)
    if (r.stop[i].empty()) bad("stop[" + std::to_string(i) + "]", "is an empty string");
}

void validate_embedding_request(const EmbeddingRequest& r) {
  if (r.input.empty()) bad("input", "must hold at least one string");
  for (std::size_t i = 0; i < r.input.size(); ++i)
    if (r.input[i].empty()) bad("input[" + std::to_string(i) + "]", "is an empty string");
  if (r.dimensions && *r.dimensions < 1) bad("dimensions", "must be at least 1, got " + std::to_string(*r.dimensions));
  if (r.encoding_format != "float" && r.encoding_format != "base64")
    bad("encoding_format", "must be \"float\" or \"base64\", got \"" + r.encoding_format + "\"");
}

ChatResponse Backend::chat(const ChatRequest& request, std::stop_token stop) {
  if (request.stream) bad("stream", "is true: a streamed request goes to chat_stream");
  validate_chat_request(request);
  if (stop.stop_requested()) throw Error(ErrorCode::cancelled, name() + ": cancelled before it started");
  return do_chat(request, std::move(stop));
}

ChatResponse Backend::chat_stream(const ChatRequest& request, const ChunkCallback& on_chunk, std::stop_token stop) {
  validate_chat_request(request);
  if (stop.stop_requested()) throw Error(ErrorCode::cancelled, name() + ": cancelled before it started");
  return do_chat_stream(request, on_chunk, std::move(stop));
}

EmbeddingResponse Backend::embeddings(const EmbeddingRequest& request, std::stop_token stop) {
  validate_embedding_request(request);
  if (stop.stop_requested()) throw Error(ErrorCode::cancelled, name() + ": cancelled before it started");
  return do_embeddings(request, std::move(stop));
}

EmbeddingResponse Backend::do_embeddings(const EmbeddingRequest&, std::stop_token) {
  throw Error(ErrorCode::unsupported, name() + " does not serve embeddings");
}

}  // namespace cnai
