// OpenAI Chat Completions and Embeddings request bodies -> shared types, for
// servers. What a client sent is its own fault: every error is
// Error(invalid_argument) naming the field, or Error(unsupported) for valid
// OpenAI that cnai does not serve (n > 1, logprobs, audio parts, token inputs).
// Fields cnai has no use for (store, service_tier, ...) are ignored.
#include <limits>

#include "api/json_fields.hpp"
#include "cnai/api/json.hpp"
#include "cnai/core/error.hpp"
#include "core/printable.hpp"

namespace cnai {
namespace {

constexpr std::string_view kChatContext = "chat request";
constexpr std::string_view kEmbeddingContext = "embedding request";
constexpr ErrorCode kClientFault = ErrorCode::invalid_argument;

std::string required_str(const json::Fields& f, std::string_view key) {
  auto s = f.opt_str(key);
  if (!s) f.fail(key, "is missing");
  return std::move(*s);
}

std::optional<int> opt_int(const json::Fields& f, std::string_view key) {
  if (!f.has(key)) return std::nullopt;
  const std::int64_t v = f.int64(key);
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) f.fail(key, "is out of range");
  return static_cast<int>(v);
}

std::optional<float> opt_float(const json::Fields& f, std::string_view key) {
  auto d = f.opt_double(key);
  if (!d) return std::nullopt;
  return static_cast<float>(*d);
}

Role role_of(const json::Fields& m) {
  const std::string s = required_str(m, "role");
  if (s == "system") return Role::system;
  if (s == "developer") return Role::developer;
  if (s == "user") return Role::user;
  if (s == "assistant") return Role::assistant;
  if (s == "tool") return Role::tool;
  if (s == "function") m.fail("role", "'function' (deprecated) is not supported: use 'tool'", ErrorCode::unsupported);
  m.fail("role", "has unknown role '" + core::printable(s, 40) + "'");
}

ContentPart part_of(const json::Fields& p) {
  ContentPart part;
  part.type = required_str(p, "type");
  if (part.type == "text") {
    part.text = required_str(p, "text");
  } else if (part.type == "image_url") {
    const auto* url = p.raw("image_url");
    if (!url) p.fail("image_url", "is missing");
    if (url->is_string()) {
      part.image_url = std::string(url->get_string());
    } else {
      auto o = p.object("image_url");
      part.image_url = required_str(*o, "url");
    }
  } else {
    p.fail("type", "'" + core::printable(part.type, 40) + "' is not supported (text and image_url are)", ErrorCode::unsupported);
  }
  return part;
}

/// content: a string, null, or an array of parts.
void read_content(const json::Fields& m, Message& out) {
  const auto* v = m.raw("content");
  if (!v) return;
  if (v->is_string()) {
    out.content = std::string(v->get_string());
    return;
  }
  const auto* parts = v->if_array();
  if (!parts) m.fail("content", "expected a string, null or an array of parts");
  for (std::size_t i = 0; i < parts->size(); ++i) out.parts.push_back(part_of(m.element("content", *parts, i)));
}

std::vector<ToolCall> read_tool_calls(const json::Fields& m) {
  std::vector<ToolCall> calls;
  const auto* arr = m.array("tool_calls");
  for (std::size_t i = 0; arr && i < arr->size(); ++i) {
    json::Fields c = m.element("tool_calls", *arr, i);
    ToolCall call;
    call.id = c.str("id");
    call.type = c.str("type", "function");
    if (call.type != "function") c.fail("type", "must be \"function\"", ErrorCode::unsupported);
    auto fn = c.object("function");
    if (!fn) c.fail("function", "is missing");
    call.name = required_str(*fn, "name");
    call.arguments = fn->str("arguments");
    calls.push_back(std::move(call));
  }
  return calls;
}

Message message_of(const json::Fields& m) {
  Message out;
  out.role = role_of(m);
  read_content(m, out);
  out.name = m.opt_str("name");
  out.tool_calls = read_tool_calls(m);
  out.tool_call_id = m.opt_str("tool_call_id");
  if (out.role == Role::tool && !out.tool_call_id) m.fail("tool_call_id", "is missing (a tool message answers a call)");
  return out;
}

std::vector<std::string> read_stop(const json::Fields& root) {
  const auto* v = root.raw("stop");
  if (!v) return {};
  if (v->is_string()) return {std::string(v->get_string())};
  const auto* arr = root.array("stop");
  std::vector<std::string> stop;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const auto* s = (*arr)[i].if_string();
    if (!s) root.fail("stop[" + std::to_string(i) + "]", "expected a string");
    stop.emplace_back(s->data(), s->size());
  }
  return stop;
}

void read_logit_bias(const json::Fields& root, SamplingParams& s) {
  auto bias = root.object("logit_bias");
  if (!bias) return;
  for (const auto& [key, value] : bias->object_ref()) {
    const std::string token(key.data(), key.size());
    std::size_t end = 0;
    long long id = -1;
    try {
      id = std::stoll(token, &end);
    } catch (const std::exception&) {
      end = 0;
    }
    if (end != token.size() || id < 0 || id > std::numeric_limits<std::int32_t>::max())
      bias->fail(token, "is not a token id (keys of logit_bias are token ids)");
    s.logit_bias[static_cast<std::int32_t>(id)] =
        static_cast<float>(json::to_double(value, bias->path_of(token), kChatContext, kClientFault));
  }
}

void read_sampling(const json::Fields& root, SamplingParams& s) {
  s.temperature = opt_float(root, "temperature");
  s.top_p = opt_float(root, "top_p");
  s.frequency_penalty = opt_float(root, "frequency_penalty");
  s.presence_penalty = opt_float(root, "presence_penalty");
  // Not in OpenAI's schema; vLLM and NIM accept them, and so does cnai.
  s.top_k = opt_int(root, "top_k");
  s.min_p = opt_float(root, "min_p");
  s.repetition_penalty = opt_float(root, "repetition_penalty");
  if (const auto* seed = root.raw("seed")) {
    if (seed->is_uint64()) {
      s.seed = seed->get_uint64();
    } else if (seed->is_int64()) {
      s.seed = static_cast<std::uint64_t>(seed->get_int64());  // Python ints may be negative
    } else {
      root.fail("seed", "expected an integer");
    }
  }
  read_logit_bias(root, s);
}

ResponseFormat response_format_of(const json::Fields& f) {
  ResponseFormat out;
  out.type = required_str(f, "type");
  if (out.type == "json_schema") {
    auto js = f.object("json_schema");
    if (!js) f.fail("json_schema", "is missing");
    out.schema_name = js->str("name");
    out.strict = js->opt_bool("strict").value_or(false);
    const auto* schema = js->raw("schema");
    if (schema && !schema->is_object()) js->fail("schema", "expected an object");
    out.json_schema = schema ? json::dump(*schema) : "{}";
  } else if (out.type != "text" && out.type != "json_object") {
    f.fail("type", "must be \"text\", \"json_object\" or \"json_schema\"");
  }
  return out;
}

Tool tool_of(const json::Fields& t) {
  Tool tool;
  tool.type = t.str("type", "function");
  if (tool.type != "function") t.fail("type", "'" + core::printable(tool.type, 40) + "' is not supported (function is)", ErrorCode::unsupported);
  auto fn = t.object("function");
  if (!fn) t.fail("function", "is missing");
  tool.name = required_str(*fn, "name");
  tool.description = fn->str("description");
  if (const auto* params = fn->raw("parameters")) {
    if (!params->is_object()) fn->fail("parameters", "expected an object (a JSON Schema)");
    tool.parameters_json = json::dump(*params);
  }
  return tool;
}

std::optional<std::string> tool_choice_of(const json::Fields& root) {
  const auto* v = root.raw("tool_choice");
  if (!v) return std::nullopt;
  if (v->is_string()) {
    std::string s(v->get_string());
    if (s != "auto" && s != "none" && s != "required") root.fail("tool_choice", "must be \"auto\", \"none\", \"required\" or an object");
    return s;
  }
  auto o = root.object("tool_choice");
  auto fn = o->object("function");
  if (!fn) o->fail("function", "is missing");
  return required_str(*fn, "name");
}

void refuse_unserved(const json::Fields& root) {
  if (root.has("n") && root.int64("n") != 1)
    root.fail("n", "must be 1 (one choice per request)", ErrorCode::unsupported);
  if (root.opt_bool("logprobs").value_or(false)) root.fail("logprobs", "is not supported", ErrorCode::unsupported);
}

void read_metadata(const json::Fields& root, ChatRequest& r) {
  auto md = root.object("metadata");
  if (!md) return;
  for (const auto& [key, value] : md->object_ref()) {
    const std::string k(key.data(), key.size());
    r.metadata[k] = md->str(k);
  }
}

}  // namespace

ChatRequest chat_request_from_openai_json(std::string_view body) {
  auto doc = json::parse(body, kChatContext, kClientFault);
  json::Fields root = json::Fields::root(doc, kChatContext, kClientFault);
  ChatRequest r;
  r.model = required_str(root, "model");
  const auto* messages = root.array("messages");
  if (!messages) root.fail("messages", "is missing");
  for (std::size_t i = 0; i < messages->size(); ++i) r.messages.push_back(message_of(root.element("messages", *messages, i)));
  read_sampling(root, r.sampling);
  r.max_tokens = opt_int(root, "max_completion_tokens");
  if (!r.max_tokens) r.max_tokens = opt_int(root, "max_tokens");
  r.stop = read_stop(root);
  r.stream = root.opt_bool("stream").value_or(false);
  if (auto so = root.object("stream_options")) r.stream_include_usage = so->opt_bool("include_usage").value_or(false);
  if (auto rf = root.object("response_format")) r.response_format = response_format_of(*rf);
  if (const auto* tools = root.array("tools")) {
    for (std::size_t i = 0; i < tools->size(); ++i) r.tools.push_back(tool_of(root.element("tools", *tools, i)));
  }
  r.tool_choice = tool_choice_of(root);
  r.user = root.opt_str("user");
  read_metadata(root, r);
  refuse_unserved(root);
  return r;
}

EmbeddingRequest embedding_request_from_openai_json(std::string_view body) {
  auto doc = json::parse(body, kEmbeddingContext, kClientFault);
  json::Fields root = json::Fields::root(doc, kEmbeddingContext, kClientFault);
  EmbeddingRequest r;
  r.model = required_str(root, "model");
  const auto* input = root.raw("input");
  if (!input) root.fail("input", "is missing");
  if (input->is_string()) {
    r.input.emplace_back(input->get_string());
  } else {
    const auto* arr = root.array("input");
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const auto& item = (*arr)[i];
      const std::string field = "input[" + std::to_string(i) + "]";
      if (item.is_string()) {
        r.input.emplace_back(item.get_string());
      } else if (item.is_number() || item.is_array()) {
        root.fail(field, "is a token array: only text inputs are supported", ErrorCode::unsupported);
      } else {
        root.fail(field, "expected a string");
      }
    }
  }
  r.encoding_format = root.str("encoding_format", "float");
  r.dimensions = opt_int(root, "dimensions");
  r.user = root.opt_str("user");
  return r;
}

}  // namespace cnai
