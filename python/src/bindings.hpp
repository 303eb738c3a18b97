// The Python module cnai._cnai: one register_* function per bound area, each
// in its own file (module.cpp calls them in dependency order).
#pragma once

#include <pybind11/pybind11.h>

namespace cnai::python {

namespace py = pybind11;

void register_errors(py::module_& m);      // errors.cpp: cnai::Error -> cnai.Error subclasses
void register_types(py::module_& m);       // types.cpp: the shared request/response types
void register_engine(py::module_& m);      // engine.cpp: Backend, calls and streams, LocalEngine
void register_clients(py::module_& m);     // clients.cpp: OpenAiClient, AnthropicClient
void register_embeddings(py::module_& m);  // embeddings.cpp: EmbeddingResponse as NumPy, EmbeddingEngine

}  // namespace cnai::python
