// PYBIND11_MODULE for cnai._cnai: the native half of the Python package cnai
// (python/cnai/ holds the OpenAI-SDK-shaped surface written over it).
#include "bindings.hpp"

#include <cnai/core/default_model.hpp>
#include <cnai/version.hpp>

PYBIND11_MODULE(_cnai, m) {
  m.doc() = "cnai's native bindings (use the package cnai: cnai.Client, cnai.AsyncClient)";
  m.attr("__version__") = CNAI_VERSION_STRING;
  m.def("default_cache_dir", &cnai::default_cache_dir, "$CNAI_CACHE_DIR, else ~/.cache/cnai.");
  m.def("default_model_path", &cnai::default_model_path, "The default chat model (SmolLM2-135M-Instruct Q4_1) in the cache.");
  m.def("default_embedding_model_path", &cnai::default_embedding_model_path,
        "The default embedding model (all-MiniLM-L6-v2 Q8_0) in the cache.");
  cnai::python::register_errors(m);
  cnai::python::register_types(m);
  cnai::python::register_engine(m);
  cnai::python::register_clients(m);
  cnai::python::register_embeddings(m);
}
