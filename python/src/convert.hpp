// Conversions shared by the binding files: OpenAI-shaped dicts to requests
// (through the server's JSON codecs), enum values to the strings the OpenAI
// schema uses.
#pragma once

#include <cnai/api/types.hpp>

#include <optional>
#include <string>

#include "bindings.hpp"

namespace cnai::python {

py::object optional_role(const std::optional<Role>& r);
py::object finish_reason_or_none(FinishReason r);  // None for FinishReason::none
py::object json_to_python(const std::string& text);
std::string python_to_json(const py::handle& value);
ChatRequest chat_request_from_dict(const py::handle& body);
EmbeddingRequest embedding_request_from_dict(const py::handle& body);

}  // namespace cnai::python
