// The Python module cnai._cnai: one register_* function per bound area, each
// in its own file (module.cpp calls them in dependency order).
#pragma once

#include <pybind11/pybind11.h>

#include <map>
#include <optional>
#include <string>

#include <cnai/core/env.hpp>

namespace cnai::python {

namespace py = pybind11;

/// The lookup this module passes where the library takes one (a router
/// config's ${VAR}, the model cache): over `vars` when given, else over the
/// process environment, as the openai package reads it (os.environ writes
/// through to it). The C++ library reads none itself. module.cpp.
EnvLookup env_lookup(std::optional<std::map<std::string, std::string>> vars);

void register_errors(py::module_& m);      // errors.cpp: cnai::Error -> cnai.Error subclasses
void register_types(py::module_& m);       // types.cpp: the shared request/response types
void register_engine(py::module_& m);      // engine.cpp: Backend, calls and streams, LocalEngine
void register_clients(py::module_& m);     // clients.cpp: OpenAiClient, AnthropicClient
void register_embeddings(py::module_& m);  // embeddings.cpp: EmbeddingResponse as NumPy
void register_router(py::module_& m);      // router.cpp: Router (when cnai::router is built)

}  // namespace cnai::python
