// The shared vocabulary (cnai/api/types.hpp) as Python classes: responses and
// chunks with read-only attributes, requests built from OpenAI-shaped dicts.
// Dict conversion goes through the same JSON codecs as cnai's server, so a
// dict here is exactly what the wire would carry (and bad input fails the same
// way: Error(invalid_argument) naming the field).
#include <cnai/api/json.hpp>
#include <cnai/api/types.hpp>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "convert.hpp"

namespace cnai::python {

py::object optional_role(const std::optional<Role>& r) {
  return r ? py::object(py::str(std::string(to_string(*r)))) : py::object(py::none());
}

py::object finish_reason_or_none(FinishReason r) {
  return r == FinishReason::none ? py::object(py::none()) : py::object(py::str(std::string(to_string(r))));
}

py::object json_to_python(const std::string& text) {
  static auto* loads = new py::object(py::module_::import("json").attr("loads"));
  return (*loads)(text);
}

std::string python_to_json(const py::handle& value) {
  static auto* dumps = new py::object(py::module_::import("json").attr("dumps"));
  return (*dumps)(value).cast<std::string>();
}

ChatRequest chat_request_from_dict(const py::handle& body) { return chat_request_from_openai_json(python_to_json(body)); }

EmbeddingRequest embedding_request_from_dict(const py::handle& body) {
  return embedding_request_from_openai_json(python_to_json(body));
}

void register_types(py::module_& m) {
  py::class_<Usage>(m, "Usage", "Token counts and cost of one call (usage in the OpenAI schema).")
      .def(py::init<>())
      .def_readonly("prompt_tokens", &Usage::prompt_tokens)
      .def_readonly("completion_tokens", &Usage::completion_tokens)
      .def_readonly("total_tokens", &Usage::total_tokens)
      .def_readonly("cached_prompt_tokens", &Usage::cached_prompt_tokens)
      .def_readonly("cost_usd", &Usage::cost_usd, "0 when no price is known (local models)");

  py::class_<Timings>(m, "Timings", "Where a call's time went, in milliseconds and tokens per second.")
      .def(py::init<>())
      .def_readonly("time_to_first_token_ms", &Timings::time_to_first_token_ms)
      .def_readonly("total_ms", &Timings::total_ms)
      .def_readonly("queue_ms", &Timings::queue_ms)
      .def_readonly("prompt_tokens_per_s", &Timings::prompt_tokens_per_s)
      .def_readonly("completion_tokens_per_s", &Timings::completion_tokens_per_s);

  py::class_<ToolCall>(m, "ToolCall", "A function call the model asked for (arguments: JSON text).")
      .def_readonly("id", &ToolCall::id)
      .def_readonly("type", &ToolCall::type)
      .def_readonly("name", &ToolCall::name)
      .def_readonly("arguments", &ToolCall::arguments);

  py::class_<Message>(m, "Message", "One message of a conversation.")
      .def_property_readonly("role", [](const Message& msg) { return std::string(to_string(msg.role)); })
      .def_readonly("content", &Message::content)
      .def_readonly("name", &Message::name)
      .def_readonly("tool_calls", &Message::tool_calls)
      .def_readonly("tool_call_id", &Message::tool_call_id);

  py::class_<Choice>(m, "Choice", "One completion of a ChatResponse.")
      .def_readonly("index", &Choice::index)
      .def_readonly("message", &Choice::message)
      .def_property_readonly("finish_reason", [](const Choice& c) { return finish_reason_or_none(c.finish_reason); })
      .def_readonly("token_ids", &Choice::token_ids, "local engine: every sampled token id");

  py::class_<ChatResponse>(m, "ChatResponse", "A whole chat completion, with usage, timings and the backend that served it.")
      .def_readonly("id", &ChatResponse::id)
      .def_readonly("model", &ChatResponse::model)
      .def_readonly("created", &ChatResponse::created)
      .def_readonly("choices", &ChatResponse::choices)
      .def_readonly("usage", &ChatResponse::usage)
      .def_readonly("timings", &ChatResponse::timings)
      .def_readonly("backend", &ChatResponse::backend)
      .def("to_json", [](const ChatResponse& r) { return to_openai_json(r); },
           "The Chat Completions response body cnai's server sends (with a \"cnai\" object).")
      .def("to_dict", [](const ChatResponse& r) { return json_to_python(to_openai_json(r)); },
           "to_json() as a dict.");

  py::class_<ChatChunk::ToolCallDelta>(m, "ToolCallDelta", "A piece of a streamed tool call.")
      .def_readonly("index", &ChatChunk::ToolCallDelta::index)
      .def_readonly("id", &ChatChunk::ToolCallDelta::id)
      .def_readonly("name", &ChatChunk::ToolCallDelta::name)
      .def_readonly("arguments", &ChatChunk::ToolCallDelta::arguments);

  py::class_<ChatChunk>(m, "ChatChunk", "One streamed piece of a response; the deltas concatenate to the message.")
      .def_readonly("id", &ChatChunk::id)
      .def_readonly("model", &ChatChunk::model)
      .def_readonly("index", &ChatChunk::index)
      .def_readonly("delta_content", &ChatChunk::delta_content)
      .def_property_readonly("delta_role", [](const ChatChunk& c) { return optional_role(c.delta_role); })
      .def_readonly("tool_calls", &ChatChunk::tool_calls)
      .def_property_readonly("finish_reason", [](const ChatChunk& c) { return finish_reason_or_none(c.finish_reason); })
      .def_readonly("usage", &ChatChunk::usage)
      .def_readonly("token_ids", &ChatChunk::token_ids)
      .def("to_dict", [](const ChatChunk& c, std::int64_t created) { return json_to_python(to_openai_json(c, created)); },
           py::arg("created") = 0, "The chat.completion.chunk object cnai's server streams.");

  py::class_<ChatRequest>(m, "ChatRequest",
                          "A chat request, made from a Chat Completions body (a dict as the openai SDK sends it).")
      .def(py::init<>())
      .def_static("from_dict", &chat_request_from_dict, py::arg("body"),
                  "Errors: cnai.BadRequestError naming the field, as cnai's server answers.")
      .def_static("from_json", [](const std::string& text) { return chat_request_from_openai_json(text); }, py::arg("text"))
      .def("to_json", [](const ChatRequest& r) { return to_openai_json(r, {.include_usage_when_streaming = false}); })
      .def("to_dict", [](const ChatRequest& r) {
        return json_to_python(to_openai_json(r, {.include_usage_when_streaming = false}));
      })
      .def_readwrite("model", &ChatRequest::model)
      .def_readwrite("max_tokens", &ChatRequest::max_tokens)
      .def_readwrite("stop", &ChatRequest::stop)
      .def_readwrite("stream", &ChatRequest::stream)
      .def_readwrite("priority", &ChatRequest::priority, "routing priority (not sent upstream)")
      .def_readwrite("metadata", &ChatRequest::metadata, "routing metadata (not sent upstream)")
      .def_property_readonly("message_count", [](const ChatRequest& r) { return r.messages.size(); });

  py::class_<EmbeddingRequest>(m, "EmbeddingRequest", "An embeddings request, made from an Embeddings body.")
      .def(py::init<>())
      .def_static("from_dict", &embedding_request_from_dict, py::arg("body"))
      .def("to_dict", [](const EmbeddingRequest& r) { return json_to_python(to_openai_json(r)); })
      .def_readwrite("model", &EmbeddingRequest::model)
      .def_readwrite("input", &EmbeddingRequest::input)
      .def_readwrite("dimensions", &EmbeddingRequest::dimensions)
      .def_readwrite("truncate", &EmbeddingRequest::truncate, "local models: cut an input that does not fit")
      .def_readwrite("priority", &EmbeddingRequest::priority);
}

}  // namespace cnai::python
