// PYBIND11_MODULE for cnai._cnai: the native half of the Python package cnai
// (python/cnai/ holds the OpenAI-SDK-shaped surface written over it).
#include "bindings.hpp"

#include <pybind11/stl.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>

#include <cnai/core/default_model.hpp>
#include <cnai/version.hpp>

namespace py = pybind11;

namespace cnai::python {

EnvLookup env_lookup(std::optional<std::map<std::string, std::string>> vars) {
  if (vars) {
    return [vars = std::move(*vars)](const std::string& var) -> std::optional<std::string> {
      auto it = vars.find(var);
      return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
  }
  return [](const std::string& var) -> std::optional<std::string> {
    const char* v = std::getenv(var.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
}

}  // namespace cnai::python

PYBIND11_MODULE(_cnai, m) {
  m.doc() = "cnai's native bindings (use the package cnai: cnai.Client, cnai.AsyncClient)";
  m.attr("__version__") = CNAI_VERSION_STRING;
  auto cache_dir = [](std::optional<std::map<std::string, std::string>> env) {
    return cnai::default_cache_dir(cnai::python::env_lookup(std::move(env)));
  };
  m.def("default_cache_dir", cache_dir, py::arg("env") = py::none(),
        "$CNAI_CACHE_DIR, else ~/.cache/cnai, from `env` (a mapping; default: the process environment).");
  m.def("default_model_path", [cache_dir](std::optional<std::string> dir) {
    return cnai::default_model_path(dir ? *dir : cache_dir(std::nullopt));
  }, py::arg("cache_dir") = py::none(), "The default chat model (SmolLM2-135M-Instruct Q4_1) in the cache directory "
                                        "(default: default_cache_dir()).");
  m.def("default_embedding_model_path", [cache_dir](std::optional<std::string> dir) {
    return cnai::default_embedding_model_path(dir ? *dir : cache_dir(std::nullopt));
  }, py::arg("cache_dir") = py::none(), "The default embedding model (all-MiniLM-L6-v2 Q8_0) in the cache directory "
                                        "(default: default_cache_dir()).");
  cnai::python::register_errors(m);
  cnai::python::register_types(m);
  cnai::python::register_engine(m);
  cnai::python::register_clients(m);
  cnai::python::register_embeddings(m);
#if CNAI_PY_ROUTER
  cnai::python::register_router(m);
#endif
}
