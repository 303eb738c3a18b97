// ChatRequest / EmbeddingRequest -> OpenAI request bodies.
#include <boost/json.hpp>

#include "api/json_fields.hpp"
#include "cnai/api/json.hpp"
#include "cnai/core/error.hpp"

namespace cnai {
namespace {

namespace bj = boost::json;

bj::value parse_user_json(const std::string& text, const std::string& what) {
  boost::system::error_code ec;
  bj::value v = bj::parse(text, ec);
  if (ec) throw Error(ErrorCode::invalid_argument, what + " is not valid JSON: " + ec.message());
  return v;
}

bj::value encode_content(const Message& m) {
  if (m.parts.empty()) {
    if (m.content.empty() && !m.tool_calls.empty()) return nullptr;
    return bj::string(m.content);
  }
  bj::array parts;
  for (const ContentPart& p : m.parts) {
    if (p.type == "image_url") {
      parts.push_back(bj::object{{"type", "image_url"}, {"image_url", bj::object{{"url", p.image_url}}}});
    } else {
      parts.push_back(bj::object{{"type", "text"}, {"text", p.text}});
    }
  }
  return parts;
}

bj::object encode_message(const Message& m) {
  bj::object o;
  o["role"] = std::string(to_string(m.role));
  o["content"] = encode_content(m);
  if (m.name) o["name"] = *m.name;
  if (!m.tool_calls.empty()) {
    bj::array calls;
    for (const ToolCall& c : m.tool_calls) {
      calls.push_back(bj::object{{"id", c.id},
                                 {"type", c.type.empty() ? "function" : c.type},
                                 {"function", bj::object{{"name", c.name}, {"arguments", c.arguments}}}});
    }
    o["tool_calls"] = std::move(calls);
  }
  if (m.tool_call_id) o["tool_call_id"] = *m.tool_call_id;
  return o;
}

bj::value encode_tool_choice(const std::string& choice) {
  if (choice == "auto" || choice == "none" || choice == "required") return bj::string(choice);
  return bj::object{{"type", "function"}, {"function", bj::object{{"name", choice}}}};
}

bj::object encode_response_format(const ResponseFormat& f) {
  if (f.type != "json_schema") return bj::object{{"type", f.type}};
  bj::object schema{{"name", f.schema_name.empty() ? "response" : f.schema_name},
                    {"schema", parse_user_json(f.json_schema, "response_format.json_schema")},
                    {"strict", f.strict}};
  return bj::object{{"type", "json_schema"}, {"json_schema", std::move(schema)}};
}

void encode_sampling(const SamplingParams& s, bj::object& o) {
  if (s.temperature) o["temperature"] = *s.temperature;
  if (s.top_p) o["top_p"] = *s.top_p;
  if (s.frequency_penalty) o["frequency_penalty"] = *s.frequency_penalty;
  if (s.presence_penalty) o["presence_penalty"] = *s.presence_penalty;
  if (s.seed) o["seed"] = *s.seed;
  // Not in OpenAI's schema; OpenAI-compatible servers (vLLM, NIM) accept them.
  if (s.top_k) o["top_k"] = *s.top_k;
  if (s.min_p) o["min_p"] = *s.min_p;
  if (s.repetition_penalty) o["repetition_penalty"] = *s.repetition_penalty;
  if (!s.logit_bias.empty()) {
    bj::object bias;
    for (const auto& [token, value] : s.logit_bias) bias[std::to_string(token)] = value;
    o["logit_bias"] = std::move(bias);
  }
}

}  // namespace

std::string to_openai_json(const ChatRequest& r, const OpenAiEncodeOptions& options) {
  bj::object o;
  o["model"] = r.model;
  bj::array messages;
  for (const Message& m : r.messages) messages.push_back(encode_message(m));
  o["messages"] = std::move(messages);
  encode_sampling(r.sampling, o);
  if (r.max_tokens) o[options.use_max_completion_tokens ? "max_completion_tokens" : "max_tokens"] = *r.max_tokens;
  if (!r.stop.empty()) {
    bj::array stop;
    for (const auto& s : r.stop) stop.push_back(bj::string(s));
    o["stop"] = std::move(stop);
  }
  if (r.stream) {
    o["stream"] = true;
    if (options.include_usage_when_streaming || r.stream_include_usage) o["stream_options"] = bj::object{{"include_usage", true}};
  }
  if (r.response_format && r.response_format->type != "text") {
    o["response_format"] = encode_response_format(*r.response_format);
  }
  if (!r.tools.empty()) {
    bj::array tools;
    for (const Tool& t : r.tools) {
      bj::object fn{{"name", t.name}, {"parameters", parse_user_json(t.parameters_json, "tool '" + t.name + "' parameters")}};
      if (!t.description.empty()) fn["description"] = t.description;
      tools.push_back(bj::object{{"type", "function"}, {"function", std::move(fn)}});
    }
    o["tools"] = std::move(tools);
  }
  if (r.tool_choice) o["tool_choice"] = encode_tool_choice(*r.tool_choice);
  if (r.user) o["user"] = *r.user;
  return json::dump(o);
}

std::string to_openai_json(const EmbeddingRequest& r) {
  bj::array input;
  for (const auto& s : r.input) input.push_back(bj::string(s));
  bj::object o{{"model", r.model}, {"input", std::move(input)}, {"encoding_format", r.encoding_format}};
  if (r.dimensions) o["dimensions"] = *r.dimensions;
  if (r.user) o["user"] = *r.user;
  return json::dump(o);
}

}  // namespace cnai
